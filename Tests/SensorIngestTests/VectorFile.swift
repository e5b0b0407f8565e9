import FleetJSON
import Foundation
import Testing

@testable import SensorIngest

/// One AM-family entry of `Vectors/sensor_vectors.json` (sensors.md §5).
struct AMVector: Sendable, CustomTestStringConvertible {
    var model: String
    var source: String
    var payload: [UInt8]
    var fPort: Int
    /// What the current vendor decoder outputs: `expected`, or `head_decoder_output` where the
    /// documented output is legacy or wrong.
    var expected: JSONObject
    /// The documented output is not what the vendor's decoder gives today.
    var legacyDocumented: Bool
    /// The notes say the vendor decoder stops early at an unknown channel.
    var partial: Bool

    var testDescription: String {
        let hex = Hex.encode(payload).uppercased()
        return legacyDocumented
            ? "\(model) \(hex) [legacy documented output; asserting HEAD decoder output]"
            : "\(model) \(hex)"
    }
}

/// One Milesight uplink entry of `Vectors/sensor_vectors.json`, for one model it applies to.
struct MilesightVector: Sendable, CustomTestStringConvertible {
    /// The model the vector is decoded as (a "VS340/VS341" entry yields one vector per model).
    var model: String
    /// The entry's own label, e.g. "WS101 (legacy decoder)".
    var label: String
    var source: String
    var payload: [UInt8]
    var fPort: Int
    /// The current vendor decoder's output: `expected`, or `head_decoder_output` where the
    /// documented output is legacy or a vendor error.
    var expected: JSONObject
    var legacyDocumented: Bool
    var notes: String

    var testDescription: String {
        let hex = Hex.encode(payload).uppercased()
        return legacyDocumented
            ? "\(model) \(hex) [documented output is legacy/wrong; asserting current vendor decoder]"
            : "\(model) \(hex)"
    }
}

enum VectorFile {
    /// Every Milesight uplink vector (hex payloads, not envelopes or downlinks), one per model
    /// it names: labels such as "WS301 (legacy decoder)" reduce to the model, "VS340/VS341" to both.
    static func milesightVectors() -> [MilesightVector] {
        guard let entries = try? entries() else { return [] }
        return entries.flatMap { entry -> [MilesightVector] in
            guard entry["vendor"]?.string == "Milesight", entry["direction"] == nil,
                entry["input_format"]?.string == "hex", let label = entry["model"]?.string,
                let input = entry["input"]?.string, let payload = Hex.decode(input)
            else { return [] }
            let legacy = entry["head_decoder_matches"]?.bool == false
            let expected = (legacy ? entry["head_decoder_output"] : entry["expected"])?.object ?? JSONObject()
            let models = String(label.prefix { $0 != " " }).split(separator: "/").map(String.init)
            return models.map { model in
                MilesightVector(
                    model: model, label: label, source: entry["source"]?.string ?? "", payload: payload,
                    fPort: entry["fPort"]?.int ?? 85, expected: expected, legacyDocumented: legacy,
                    notes: entry["notes"]?.string ?? "")
            }
        }
    }

    /// Entries of a vendor (`Pressac`, `Irisys`, `ChirpStack`, `The Things Stack`).
    static func entries(vendor: String) -> [JSON] {
        ((try? entries()) ?? []).filter { $0["vendor"]?.string == vendor }
    }

    /// All entries, parsed with FleetJSON.
    static func entries() throws -> [JSON] {
        let url =
            Bundle.module.url(forResource: "sensor_vectors", withExtension: "json", subdirectory: "Vectors")
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Vectors/sensor_vectors.json")
        let data = try Data(contentsOf: url)
        return try JSON.parse([UInt8](data)).array ?? []
    }

    /// The Milesight AM307/AM308/AM319 vectors. Model labels such as
    /// "AM319 (legacy AM300 decoder)" are reduced to the model name.
    static func amVectors() -> [AMVector] {
        guard let entries = try? entries() else { return [] }
        return entries.compactMap { entry -> AMVector? in
            guard entry["vendor"]?.string == "Milesight", let label = entry["model"]?.string, label.hasPrefix("AM3"),
                entry["input_format"]?.string == "hex", let input = entry["input"]?.string,
                let payload = Hex.decode(input)
            else { return nil }
            let model = String(label.prefix { $0 != " " })
            let legacy = entry["head_decoder_matches"]?.bool == false
            let expected = (legacy ? entry["head_decoder_output"] : entry["expected"])?.object ?? JSONObject()
            let notes = entry["notes"]?.string ?? ""
            return AMVector(
                model: model, source: entry["source"]?.string ?? "", payload: payload,
                fPort: entry["fPort"]?.int ?? 85, expected: expected, legacyDocumented: legacy,
                partial: notes.contains("stops"))
        }
    }

    /// The uplink envelopes of the Milesight gateway, with their expected extraction.
    static func gatewayEnvelopes() -> [(input: JSON, expected: JSONObject)] {
        guard let entries = try? entries() else { return [] }
        return entries.compactMap { entry in
            guard entry["vendor"]?.string == "Milesight", entry["direction"]?.string == "uplink-envelope",
                let input = entry["input"], let expected = entry["expected"]?.object
            else { return nil }
            return (input, expected)
        }
    }
}

/// Compares JSON values the way sensors.md §4.6 asks: numbers after normalisation (20.0 == 20,
/// and a tolerance for decimal text versus binary division), objects by keys and values.
func jsonMatches(_ actual: JSON, _ expected: JSON) -> Bool {
    switch (actual, expected) {
    case (.number(let a), .number(let b)): return abs(a - b) <= 1e-9 * max(1, abs(b))
    case (.object(let a), .object(let b)):
        return a.count == b.count && b.allSatisfy { key, value in a[key].map { jsonMatches($0, value) } ?? false }
    case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy(jsonMatches)
    default: return actual == expected
    }
}

func bytes(_ hex: String) -> [UInt8] {
    guard let bytes = Hex.decode(hex) else {
        Issue.record("bad hex in test: \(hex)")
        return []
    }
    return bytes
}
