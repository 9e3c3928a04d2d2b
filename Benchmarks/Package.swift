// swift-tools-version: 6.1
import PackageDescription

// Benchmarks of MarketScan's engine, kept out of the root package so a clean CI build stays short.
//
//   swift run -c release --package-path Benchmarks FormulaBench
//   swift run -c release --package-path Benchmarks LoadBench --db STORE
let package = Package(
    name: "MarketScanBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "MarketScan", path: "..")
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
    ],
    swiftLanguageModes: [.v6]
)
