import Testing

@testable import SensorIngest

@Suite struct RegistryTests {
    let registry = DecoderRegistry.standard

    @Test(arguments: ["AM307", "am307", "Am307"])
    func modelNamesAreCaseInsensitive(name: String) throws {
        let decoder = try registry.decoder(vendor: "Milesight", model: name)
        #expect(decoder.model == "AM307")
    }

    @Test func plainAM319IsTheHCHOVariant() throws {
        #expect(try registry.decoder(vendor: "milesight", model: "AM319").model == "AM319-HCHO")
        let decoded = try registry.decode(vendor: "milesight", model: "am319", fPort: 85, payload: bytes("0A7D0700"))
        #expect(decoded.fields == ["hcho": 0.07])
    }

    @Test func unknownModelListsTheKnownOnes() {
        let error = #expect(throws: DecodeError.self) { try registry.decoder(vendor: "milesight", model: "AM999") }
        #expect(error?.code == .unknownModel)
        #expect(error?.reason.hasPrefix("unknown model 'AM999'; known milesight models: AM307, AM308, ") == true)
        #expect(error?.reason.hasSuffix(", DS3604") == true)
    }

    @Test func unknownVendorListsTheKnownOnes() {
        let error = #expect(throws: DecodeError.self) {
            try registry.decode(vendor: "acme", model: "X", fPort: 1, payload: [])
        }
        #expect(error?.code == .unknownModel)
        #expect(error?.reason == "unknown vendor 'acme'; known vendors: milesight, pressac")
    }

    /// Models the vector file has no uplink for, and why they are registered anyway.
    static let modelsWithoutVectors: [String: String] = [
        "VS351": "same protocol and table as VS350 (sensors.md §1.2, related building models)"
    ]

    @Test func everyModelHasAVectorOrADocumentedReasonAndNoNameIsTakenTwice() {
        let names = Milesight.models.flatMap { [$0.model] + $0.aliases }.map { $0.uppercased() }
        #expect(Set(names).count == names.count)
        let vectorModels = Set(VectorFile.milesightVectors().map { $0.model.uppercased() })
        for model in Milesight.models where Self.modelsWithoutVectors[model.model] == nil {
            #expect(vectorModels.contains(model.model.uppercased()), "no vector for \(model.model)")
        }
        // …and every model a vector names is registered (AM319 as an alias).
        for model in vectorModels {
            #expect(names.contains(model), "vector for unregistered model \(model)")
        }
    }

    @Test func everyPressacModelHasAVector() {
        let labels = PressacTests.loraVectors.compactMap { $0["model"]?.string }
        for model in registry.models(vendor: "pressac") {
            #expect(labels.contains { PressacTests.model(of: $0) == model }, "no vector for \(model)")
        }
        #expect(registry.models(vendor: "pressac") == ["CTLW", "SR_LIN_IAQ", "SR_LIN_RCS"])
    }

    @Test func everyModelDecodesPowerOnResetAndItsVersionFrames() {
        for model in Milesight.models {
            let pairs = Set(model.channelPairs.map { UInt16($0.id) << 8 | UInt16($0.type) })
            let versions: [UInt16] = pairs.contains(0xFF1F) ? [0xFF01, 0xFF09, 0xFF1F] : [0xFF01, 0xFF09, 0xFF0A]
            for pair in [0xFF0B, 0xFFFE, 0xFF0F] + versions {
                #expect(pairs.contains(pair), "\(model.model) lacks \(String(pair, radix: 16))")
            }
        }
    }

    @Test func theAirQualityFamilyDecodesBothHistoryTypes() {
        for model in Milesight.models where model.model.hasPrefix("AM3") {
            let pairs = Set(model.channelPairs.map { UInt16($0.id) << 8 | UInt16($0.type) })
            #expect(pairs.isSuperset(of: [0x20CE, 0x21CE]), "\(model.model)")
        }
    }
}
