// swift-tools-version: 6.1
import PackageDescription

// Dependencies are chosen to keep a clean CI build short (see README "Dependencies").
let package = Package(
    name: "MarketScan",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "scan", targets: ["scan"]),
        .executable(name: "scan-service", targets: ["scan-service"]),
        .executable(name: "engine-node", targets: ["engine-node"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "FormulaEngine", targets: ["FormulaEngine"]),
        .library(name: "ScanCore", targets: ["ScanCore"]),
        .library(name: "MarketData", targets: ["MarketData"]),
        .library(name: "ScanProtocol", targets: ["ScanProtocol"]),
        .library(name: "ScanClient", targets: ["ScanClient"]),
        // For the benchmarks' in-process service and nodes (Benchmarks/Sources/LiveBench).
        .library(name: "ScanService", targets: ["ScanService"]),
        .library(name: "EngineNode", targets: ["EngineNode"]),
        .library(name: "SessionStore", targets: ["SessionStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
    ],
    targets: [
        // MARK: ZeroMQ
        // libzmq from Debian's libzmq3-dev (headers in /usr/include, `link "zmq"` in the module map).
        // Not `pkgConfig: "libzmq"`: Debian's libzmq.pc drags in krb5-gssapi's `-isystem` flags, which
        // SwiftPM rejects with a warning on every build. `.ci/run` installs the package when
        // `pkg-config --exists libzmq` fails.
        .systemLibrary(name: "CZeroMQ"),
        .systemLibrary(name: "CMalloc"),
        .target(name: "ProcessMemory", dependencies: ["CMalloc"]),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),

        // MARK: Domain and engine (pure)
        .target(name: "FormulaEngine"),
        .target(name: "ScanCore", dependencies: ["FormulaEngine"]),

        // MARK: Storage, wire protocol, presentation
        .target(
            name: "MarketData",
            dependencies: ["ScanCore", "FormulaEngine", "GRDBReads", .product(name: "GRDB", package: "GRDB.swift")],
            resources: [.copy("Resources")]
        ),
        .target(name: "ScanProtocol", dependencies: ["ScanCore", "FormulaEngine"]),
        .target(
            name: "SessionStore",
            dependencies: ["ScanCore", "ScanProtocol", "GRDBReads", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Async reads of a GRDB database that give the reader back on GRDB's queue (MarketData, SessionStore).
        .target(name: "GRDBReads", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "ScanOutput", dependencies: ["ScanCore", "ScanProtocol"]),
        // The shared PostgreSQL store (market data, sessions, chunk results) for nodes on many hosts.
        .target(
            name: "PostgresStore",
            dependencies: [
                "ScanCore", "MarketData", "SessionStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Processes' libraries
        .target(
            name: "ScanService",
            dependencies: [
                "FormulaEngine", "MarketData", "ProcessMemory", "ScanCore", "ScanProtocol", "ZeroMQ",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "EngineNode",
            dependencies: [
                "FormulaEngine", "ScanCore", "ScanProtocol", "ZeroMQ",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ScanClient",
            dependencies: [
                "MarketData", "ScanCore", "ScanProtocol", "ZeroMQ",
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Executables (argument parsing and wiring only)
        .executableTarget(
            name: "scan",
            dependencies: [
                "FormulaEngine", "MarketData", "PostgresStore", "ScanClient", "ScanCore", "ScanOutput", "ScanProtocol",
                "ZeroMQ", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Prometheus text over HTTP on a thread of its own (`--metrics HOST:PORT`).
        .target(
            name: "MetricsEndpoint",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "scan-service",
            dependencies: [
                "MetricsEndpoint", "PostgresStore", "ProcessMemory", "ScanCore", "ScanService", "ZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "engine-node",
            dependencies: [
                "EngineNode", "MetricsEndpoint", "PostgresStore", "ScanCore", "ZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Tests
        // Waits with a deadline (`within`, `eventually`) and child processes waited for off the cooperative
        // pool (`runChild`), shared by the test targets.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "ZeroMQTests",
            dependencies: ["TestSupport", "ZeroMQ", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "FormulaEngineTests",
            dependencies: ["FormulaEngine", .product(name: "PropertyBased", package: "swift-property-based")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ScanCoreTests",
            dependencies: ["FormulaEngine", "MarketData", "ScanCore", "SessionStore"],
            resources: [.copy("Fixtures")]
        ),
        // Fixtures/ holds import files in other tools' layouts, read from the source tree.
        .testTarget(
            name: "MarketDataTests",
            dependencies: [
                "FormulaEngine", "MarketData", "ScanCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "SessionStoreTests",
            dependencies: [
                "GRDBReads", "ScanCore", "ScanProtocol", "SessionStore", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(name: "ScanProtocolTests", dependencies: ["FormulaEngine", "ScanCore", "ScanProtocol"]),
        // Starts a throwaway PostgreSQL cluster (scripts/pg-scratch.sh) for its suite.
        .testTarget(
            name: "PostgresStoreTests",
            dependencies: ["FormulaEngine", "MarketData", "PostgresStore", "ScanCore", "TestSupport"]
        ),
        // Golden/ holds the golden outputs, read from the source tree (see GoldenOutputTests).
        .testTarget(
            name: "ScanOutputTests",
            dependencies: ["FormulaEngine", "MarketData", "ScanCore", "ScanOutput", "ScanProtocol", "TestSupport"],
            exclude: ["Golden"]
        ),
        .testTarget(
            name: "ScanServiceTests",
            dependencies: [
                "EngineNode", "FormulaEngine", "MarketData", "MetricsEndpoint", "ScanClient", "ScanCore",
                "ScanProtocol",
                "ScanService", "SessionStore", "TestSupport", "ZeroMQ", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Starts the real executables (scan, scan-service, engine-node) on 127.0.0.1; Cluster/ runs them on
        // separate network-namespace hosts with PostgreSQL (deploy/netns-cluster.sh; needs root).
        .testTarget(name: "EndToEndTests", dependencies: ["ScanProtocol", "TestSupport", "ZeroMQ"]),
    ],
    swiftLanguageModes: [.v6]
)
