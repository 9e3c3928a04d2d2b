// swift-tools-version: 6.1
import PackageDescription

// Benchmarks of MarketScan's engine, kept out of the root package so a clean CI build stays short.
//
//   swift run -c release --package-path Benchmarks FormulaBench
//   swift run -c release --package-path Benchmarks LoadBench --db STORE
//   swift run -c release --package-path Benchmarks LiveBench
let package = Package(
    name: "MarketScanBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "MarketScan", path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "FormulaBench",
            dependencies: [.product(name: "FormulaEngine", package: "MarketScan")]
        ),
        .executableTarget(
            name: "LoadBench",
            dependencies: [
                .product(name: "MarketData", package: "MarketScan"),
                .product(name: "ScanCore", package: "MarketScan"),
            ]
        ),
        .executableTarget(
            name: "LiveBench",
            dependencies: [
                .product(name: "EngineNode", package: "MarketScan"),
                .product(name: "MarketData", package: "MarketScan"),
                .product(name: "ScanClient", package: "MarketScan"),
                .product(name: "ScanCore", package: "MarketScan"),
                .product(name: "ScanProtocol", package: "MarketScan"),
                .product(name: "ScanService", package: "MarketScan"),
                .product(name: "SessionStore", package: "MarketScan"),
                .product(name: "ZeroMQ", package: "MarketScan"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
