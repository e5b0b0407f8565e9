// swift-tools-version:6.0
import PackageDescription

// Every Swift target: Swift 6 language mode and explicit `any` for existentials.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "fleet-controller",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "fleet-controller", targets: ["FleetController"]),
        .executable(name: "device-sim", targets: ["DeviceSim"]),
        // For the fuzz package under Fuzz/, which builds the decoders with -sanitize=fuzzer.
        .library(name: "SensorIngest", targets: ["SensorIngest"]),
        .library(name: "FleetJSON", targets: ["FleetJSON"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // The one C target: headers of the system libraries plus cfs_* wrappers for what Swift
        // cannot call directly (variadic functions, macros).
        .target(
            name: "CFleetShims",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [
                .linkedLibrary("mosquitto"), .linkedLibrary("curl"),
                .linkedLibrary("sqlite3"), .linkedLibrary("microhttpd"),
            ]
        ),
        .target(name: "FleetLoop", dependencies: ["CFleetShims"], swiftSettings: strict),
        .target(name: "FleetStore", dependencies: ["CFleetShims"], swiftSettings: strict),
        // JSON values with byte-offset errors; shared by MQTT payloads, the HTTP API and decoders.
        .target(name: "FleetJSON", swiftSettings: strict),
        .target(
            name: "MQTTBridge",
            dependencies: ["CFleetShims", "FleetLoop", "FleetJSON", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "DirectoryCache",
            dependencies: ["FleetLoop", "FleetStore", "FleetJSON", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "DevicePairing",
            dependencies: ["FleetLoop", "FleetStore", "FleetJSON", "MQTTBridge", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "SensorIngest",
            dependencies: ["FleetLoop", "FleetStore", "FleetJSON", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "FleetController",
            dependencies: [
                "CFleetShims", "FleetLoop", "FleetStore", "FleetJSON", "MQTTBridge",
                "DirectoryCache", "DevicePairing", "SensorIngest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "DeviceSim",
            dependencies: [
                "FleetLoop", "FleetJSON", "MQTTBridge",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "device-sim",
            swiftSettings: strict
        ),
        // The ingest benchmark's plain subscriber and controller watcher (bench/ingest/run.sh).
        .executableTarget(
            name: "IngestBench",
            dependencies: ["FleetLoop", "FleetJSON", "MQTTBridge", .product(name: "Logging", package: "swift-log")],
            path: "bench/ingest",
            exclude: ["run.sh"],
            swiftSettings: strict
        ),
        // Test-only helpers: a private mosquitto per test, temp dirs, polling the loop until a condition holds.
        .target(
            name: "FleetTestSupport",
            dependencies: ["FleetLoop", "CFleetShims", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // A local Microsoft Graph for directory tests and benchmarks (HTTPServer on the loop).
        .target(name: "GraphStandIn", dependencies: ["FleetLoop", "FleetJSON"], path: "Tests/GraphStandIn",
                swiftSettings: strict),
        // The directory benchmark: full sync and delta from the Graph stand-in (bench/directory/run.sh).
        .executableTarget(
            name: "DirectoryBench",
            dependencies: ["DirectoryCache", "GraphStandIn", "FleetLoop", "FleetJSON", "FleetTestSupport", "CFleetShims",
                           .product(name: "Logging", package: "swift-log")],
            path: "bench/directory",
            exclude: ["run.sh"],
            swiftSettings: strict
        ),
        .testTarget(name: "FleetLoopTests", dependencies: ["FleetLoop", "FleetTestSupport"], swiftSettings: strict),
        .testTarget(name: "FleetJSONTests", dependencies: ["FleetJSON"], swiftSettings: strict),
        .testTarget(name: "FleetStoreTests", dependencies: ["FleetStore", "FleetTestSupport"], swiftSettings: strict),
        .testTarget(name: "MQTTBridgeTests", dependencies: ["MQTTBridge", "FleetTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "DirectoryCacheTests",
            dependencies: [
                "DirectoryCache", "FleetJSON", "FleetStore", "FleetLoop", "FleetTestSupport", "GraphStandIn",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DevicePairingTests",
            dependencies: [
                "DevicePairing", "FleetJSON", "FleetLoop", "FleetStore", "MQTTBridge", "FleetTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SensorIngestTests",
            dependencies: [
                "SensorIngest", "FleetJSON", "FleetStore", "FleetLoop", "FleetTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Vectors")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetControllerTests",
            dependencies: ["FleetController", "FleetJSON", "FleetTestSupport", "CFleetShims", "GraphStandIn", "FleetLoop",
                           "DirectoryCache", "FleetStore"],
            swiftSettings: strict
        ),
    ]
)
