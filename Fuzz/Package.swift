// swift-tools-version:6.0
// libFuzzer targets for the sensor decoders and gateway envelopes, kept out of the main build:
// they only link with `-sanitize=fuzzer`, which supplies `main`. Build and run with
// `scripts/fuzz.sh SECONDS` (see there for the exact command).
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its directory, so the identity of the main package is
// whatever the repository's checkout is called.
let mainPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let mainIdentity = mainPackage.lastPathComponent.lowercased()

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6), .enableUpcomingFeature("ExistentialAny")]

/// One libFuzzer executable per decoder vendor and per envelope format.
let fuzzTargets = [
    "FuzzMilesightDecoders", "FuzzPressacDecoders", "FuzzMilesightGateway", "FuzzChirpStack", "FuzzTTS",
    "FuzzPressacGateway", "FuzzIrisys",
]

let package = Package(
    name: "fleet-controller-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: mainPackage.path)],
    targets: [
        .target(name: "CFuzzDriver"),
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "SensorIngest", package: mainIdentity),
                .product(name: "FleetJSON", package: mainIdentity),
            ],
            swiftSettings: strict)
    ]
        + fuzzTargets.map { name in
            .executableTarget(name: name, dependencies: ["FuzzSupport", "CFuzzDriver"], swiftSettings: strict)
        }
)
