import FleetJSON
import Testing

@testable import SensorIngest

/// Every AM307/AM308/AM319 vector of `sensor_vectors.json`. Where the documented output is legacy
/// or wrong (`head_decoder_matches: false`: raw tvoc 37 instead of 0.37, TTN's old field names),
/// the test asserts what the current vendor decoder outputs (`head_decoder_output`); the test's
/// name says so.
@Suite struct MilesightVectorTests {
    static let vectors = VectorFile.amVectors()

    @Test func theVectorFileHoldsAllFourteenAMVectors() {
        #expect(Self.vectors.count == 14)
        #expect(Set(Self.vectors.map(\.model)) == ["AM307", "AM308", "AM319", "AM319-HCHO", "AM319-O3"])
        #expect(Self.vectors.filter(\.legacyDocumented).count == 3)
    }

    @Test(arguments: vectors)
    func decodesLikeTheVendorDecoder(_ vector: AMVector) throws {
        let decoded = try DecoderRegistry.standard.decode(
            vendor: "milesight", model: vector.model, fPort: vector.fPort, payload: vector.payload)
        #expect(
            jsonMatches(.object(decoded.fields), .object(vector.expected)), "\(decoded.fields) from \(vector.source)")
        // The vendor decoder emits fields in payload order; so must we, for dashboards that list them.
        #expect(decoded.fields.keys == vector.expected.keys)
        if vector.partial {
            #expect(decoded.warnings.count == 1)
            #expect(decoded.warnings.first?.contains("unknown channel 0x05 type 0x6A") == true)
        } else {
            #expect(decoded.warnings.isEmpty)
        }
    }

    @Test(arguments: vectors)
    func everyNumericFieldBecomesAReadingWithItsUnit(_ vector: AMVector) throws {
        let decoded = try DecoderRegistry.standard.decode(
            vendor: "milesight", model: vector.model, fPort: vector.fPort, payload: vector.payload)
        let fieldToKind: [String: ReadingKind] = [
            "battery": .battery, "temperature": .temperature, "humidity": .humidity, "pir": .occupancy,
            "light_level": .light, "co2": .co2, "tvoc": .tvoc, "pressure": .pressure, "pm2_5": .pm2_5,
            "pm10": .pm10, "hcho": .hcho, "o3": .o3,
        ]
        let expectedKinds = decoded.fields.keys.compactMap { fieldToKind[$0] }
        #expect(decoded.measurements.map(\.kind) == expectedKinds)
        for sample in decoded.measurements {
            #expect(sample.timestamp == nil)
            if let shown = decoded.fields[fieldName(sample.kind)]?.double {
                #expect(sample.value == shown)
            }
        }
    }

    private func fieldName(_ kind: ReadingKind) -> String {
        switch kind {
        case .occupancy: "pir"
        case .light: "light_level"
        default: kind.rawValue
        }
    }
}
