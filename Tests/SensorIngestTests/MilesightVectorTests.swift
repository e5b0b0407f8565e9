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

/// Every Milesight uplink vector of `sensor_vectors.json` for the models beyond the AM300 family.
/// Where the notes flag the documented output as legacy or a vendor error (WS301 tamper,
/// WS202 daylight, WS203 report type, the TTN VS121 region bug, renamed fields), the expected
/// object is the current vendor decoder's (`head_decoder_output`), and the test name says so.
@Suite struct MilesightModelVectorTests {
    static let vectors = VectorFile.milesightVectors().filter { !$0.model.hasPrefix("AM3") }

    @Test func theVectorFileHoldsEveryMilesightUplinkVector() {
        // 95 Milesight entries − 8 DS3604 downlinks − 1 gateway downlink − 3 envelopes = 83
        // uplinks; 14 are AM300 family; three "VS340/VS341" entries count for both models.
        #expect(Self.vectors.count == 83 - 14 + 3)
        #expect(Self.vectors.filter(\.legacyDocumented).count == 11)
    }

    @Test(arguments: vectors)
    func decodesLikeTheCurrentVendorDecoder(_ vector: MilesightVector) throws {
        let decoded = try DecoderRegistry.standard.decode(
            vendor: "milesight", model: vector.model, fPort: vector.fPort, payload: vector.payload)
        #expect(
            jsonMatches(.object(decoded.fields), .object(vector.expected)),
            "\(decoded.fields.serializedForTest) from \(vector.source)")
        // The TTN EM300-TH example is on fPort 1; it decodes all the same, with a warning.
        let expectedWarnings = vector.fPort == Milesight.defaultFPort ? 0 : 1
        #expect(decoded.warnings.count == expectedWarnings, "\(decoded.warnings)")
    }
}

extension MilesightModelVectorTests {
    /// The malformed twin of every vector: one byte short, the last channel is incomplete.
    @Test(arguments: vectors)
    func oneByteShortIsATruncationAttributedToTheModel(_ vector: MilesightVector) throws {
        let error = #expect(throws: DecodeError.self) {
            try DecoderRegistry.standard.decode(
                vendor: "milesight", model: vector.model, fPort: vector.fPort, payload: vector.payload.dropLast())
        }
        #expect(error?.code == .truncated)
        #expect(error?.vendor == "milesight")
        #expect(error?.model == (try? DecoderRegistry.standard.decoder(vendor: "milesight", model: vector.model))?.model)
        #expect((error?.offset ?? -1) < vector.payload.count - 1)
    }
}

extension JSONObject {
    var serializedForTest: String { JSON.object(self).serialized() }
}
