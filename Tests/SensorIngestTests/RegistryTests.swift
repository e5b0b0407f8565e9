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
        #expect(error?.reason == "unknown model 'AM999'; known milesight models: AM307, AM308, AM319-HCHO, AM319-O3")
    }

    @Test func unknownVendorListsTheKnownOnes() {
        let error = #expect(throws: DecodeError.self) {
            try registry.decode(vendor: "acme", model: "X", fPort: 1, payload: [])
        }
        #expect(error?.code == .unknownModel)
        #expect(error?.reason == "unknown vendor 'acme'; known vendors: milesight")
    }

    @Test func everyModelHasAVectorAndNoNameIsTakenTwice() {
        let names = Milesight.models.flatMap { [$0.model] + $0.aliases }.map { $0.uppercased() }
        #expect(Set(names).count == names.count)
        let vectorModels = Set(VectorFile.amVectors().map { $0.model.uppercased() })
        for model in Milesight.models {
            #expect(vectorModels.contains(model.model.uppercased()), "no vector for \(model.model)")
        }
    }

    @Test func everyModelDecodesTheAttributeFramesAndBothHistoryTypes() {
        for model in Milesight.models {
            let pairs = Set(model.channelPairs.map { UInt16($0.id) << 8 | UInt16($0.type) })
            for pair: UInt16 in [0xFF01, 0xFF09, 0xFF0A, 0xFF0B, 0xFF0F, 0xFF16, 0xFFFE, 0xFFFF, 0x20CE, 0x21CE] {
                #expect(pairs.contains(pair), "\(model.model) lacks \(String(pair, radix: 16))")
            }
        }
    }
}
