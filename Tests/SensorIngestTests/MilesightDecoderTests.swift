import FleetJSON
import Testing

@testable import SensorIngest

@Suite struct MilesightDecoderTests {
    let registry = DecoderRegistry.standard

    func decode(_ model: String, _ hex: String, fPort: Int = 85) throws(DecodeError) -> DecodedUplink {
        try registry.decode(vendor: "milesight", model: model, fPort: fPort, payload: bytes(hex))
    }

    @Test func readmeExampleBecomesReadingsWithUnits() throws {
        let decoded = try decode("AM307", "0367EE0004687C05000106CB02077DA803087D250009736627")
        let samples = decoded.measurements.map { "\($0.kind.rawValue)=\($0.value) \($0.unit)" }
        #expect(samples == [
            "temperature=23.8 °C", "humidity=62.0 %RH", "occupancy=1.0 state", "light=2.0 level", "co2=936.0 ppm",
            "tvoc=0.37 iaq", "pressure=1008.6 hPa",
        ])
    }

    @Test func tvocInMicrogramsKeepsItsUnit() throws {
        // 08 E6: the device is set to µg/m³, value is a plain uint16.
        let decoded = try decode("AM308", "08E6F401")
        #expect(decoded.fields["tvoc"] == 500)
        #expect(decoded.measurements == [Measurement(kind: .tvoc, value: 500, unit: "µg/m³")])
    }

    @Test func negativeTemperatureIsSigned() throws {
        let decoded = try decode("AM307", "0367F6FF")
        #expect(decoded.fields["temperature"] == -1.0)
    }

    @Test func unknownChannelKeepsWhatCameBeforeAndWarns() throws {
        // AM319-O3 has no HCHO channel (0A 7D): the walk stops there, like the vendor decoder.
        let decoded = try decode("AM319-O3", "01755C0A7D07000B7D2000")
        #expect(decoded.fields == ["battery": 92])
        #expect(decoded.warnings == ["unknown channel 0x0A type 0x7D at byte 3; stopped with 8 bytes undecoded"])
        #expect(decoded.measurements.map(\.kind) == [.battery])
    }

    @Test func unknownDownlinkEchoIsAWarningNotAnError() throws {
        // The vendor decoder throws "unknown downlink response" on FF/FE types it does not know,
        // losing the whole uplink (sensors.md §1.1, PR #135).
        let decoded = try decode("AM307", "01755CFF10FF0367EE00")
        #expect(decoded.fields == ["battery": 92])
        #expect(decoded.warnings.count == 1)
    }

    @Test(arguments: [
        ("0367EE", 0, "channel 0x03 type 0x67 needs 2 bytes, 1 left"),
        ("01755C0367", 3, "channel 0x03 type 0x67 needs 2 bytes, 0 left"),
        ("01755C03", 3, "a channel header needs 2 bytes, 1 left"),
        ("20CE00F15365EE007C0001", 0, "channel 0x20 type 0xCE needs 16 bytes, 9 left"),
    ])
    func truncatedPayloadThrowsWithTheChannelOffset(hex: String, offset: Int, reason: String) throws {
        let error = #expect(throws: DecodeError.self) { try decode("AM307", hex) }
        #expect(error?.code == .truncated)
        #expect(error?.vendor == "milesight")
        #expect(error?.model == "AM307")
        #expect(error?.offset == offset)
        #expect(error?.reason == reason)
    }

    @Test func emptyPayloadDecodesToNothing() throws {
        let decoded = try decode("AM307", "")
        #expect(decoded.fields.isEmpty)
        #expect(decoded.warnings.isEmpty)
    }

    @Test func otherFPortIsAWarning() throws {
        let decoded = try decode("AM307", "01755C", fPort: 10)
        #expect(decoded.fields == ["battery": 92])
        #expect(decoded.warnings == ["fPort 10 is not Milesight's application port 85"])
    }

    @Test func am307HistoryRecordIsDatedByTheDevice() throws {
        // 20 CE: ts 1700000000, 23.8 °C, humidity u16 124 → 62 %, pir trigger, level 2, 936 ppm,
        // tvoc 0.37 iaq, 1008.6 hPa; preceded by a live battery value.
        let decoded = try decode("AM307", "01755C" + "20CE" + "00F15365EE007C000102A80325006627")
        let expected: JSONObject = [
            "battery": 92,
            "history": [
                [
                    "timestamp": 1_700_000_000, "temperature": 23.8, "humidity": 62, "pir": "trigger",
                    "light_level": 2, "co2": 936, "tvoc": 0.37, "pressure": 1008.6,
                ]
            ],
        ]
        #expect(jsonMatches(.object(decoded.fields), .object(expected)))
        #expect(decoded.fields["history"]?[0]?.object?.keys.first == "timestamp")
        let history = decoded.measurements.filter { $0.timestamp != nil }
        #expect(history.count == 7)
        #expect(history.allSatisfy { $0.timestamp == 1_700_000_000 })
        #expect(decoded.measurements.first == Measurement(kind: .battery, value: 92, unit: "%"))
    }

    @Test func am319O3HistoryRecordsInMicrogramsCollectInOrder() throws {
        let record = "58F35365" + "F1FF" + "5A00" + "00" + "05" + "F401" + "FA00" + "9227" + "0C00" + "1400" + "0300"
        let decoded = try decode("AM319-O3", "21CE" + record + "21CE" + record)
        let history = try #require(decoded.fields["history"]?.array)
        #expect(history.count == 2)
        let expectedRecord: JSON = [
            "timestamp": 1_700_000_600, "temperature": -1.5, "humidity": 45, "pir": "idle", "light_level": 5,
            "co2": 500, "tvoc": 250, "pressure": 1013.0, "pm2_5": 12, "pm10": 20, "o3": 0.03,
        ]
        #expect(jsonMatches(history[0], expectedRecord))
        #expect(history[0].object?.keys == expectedRecord.object?.keys)
        let tvoc = decoded.measurements.filter { $0.kind == .tvoc }
        let mass = Measurement(kind: .tvoc, value: 250, unit: "µg/m³", timestamp: 1_700_000_600)
        #expect(tvoc == [mass, mass])
        #expect(decoded.measurements.count == 20)  // 10 readings per record, none for the timestamp
    }

    @Test func historyLengthDependsOnTheModel() {
        // The record length is fixed per model: a 16-byte AM307 record sent to the AM308 decoder
        // (20 bytes) is a wrong claim, not data to guess at.
        let error = #expect(throws: DecodeError.self) {
            try decode("AM308", "20CE00F15365EE007C000102A80325006627")
        }
        #expect(error?.reason == "channel 0x20 type 0xCE needs 20 bytes, 16 left")
    }

    @Test func basicInformationFrame() throws {
        // The join-time frame the VS34x doc publishes uses the same attribute channels as the AM
        // READMEs; expected values are the vendor's (sensors.md vectors, VS340/VS341 basic info).
        let decoded = try decode("AM307", "FF0BFFFF0101FF166787D18008970013FF090100FF0A0101FF0F00")
        let expected: JSONObject = [
            "device_status": "on", "ipso_version": "v0.1", "sn": "6787d18008970013", "hardware_version": "v1.0",
            "firmware_version": "v1.1", "lorawan_class": "Class A",
        ]
        #expect(decoded.fields == expected)
        #expect(decoded.fields.keys == expected.keys)
        #expect(decoded.measurements.isEmpty)
        #expect(decoded.warnings.isEmpty)
    }

    @Test func attributeVersionsResetAndTSL() throws {
        let decoded = try decode("AM319", "FF090110FF0A0110FFFF0101FFFEFFFF0F02FF0E01")
        #expect(decoded.fields == [
            "hardware_version": "v1.1", "firmware_version": "v1.10", "tsl_version": "v1.1", "reset_event": "reset",
            "lorawan_class": "Class C",
        ])
        #expect(decoded.warnings.count == 1)  // FF 0E is not an AM uplink
    }

    @Test func unlistedEnumValueShowsAsUnknownLikeTheVendor() throws {
        let decoded = try decode("AM307", "050007")
        #expect(decoded.fields["pir"] == "unknown")
        #expect(decoded.measurements == [Measurement(kind: .occupancy, value: 7, unit: "state")])
    }

    @Test func buzzerIsAFieldButNotAReading() throws {
        let decoded = try decode("AM319-HCHO", "0E0101")
        #expect(decoded.fields == ["buzzer_status": "on"])
        #expect(decoded.measurements.isEmpty)
    }

    /// The normalized readings each model yields, in payload order (`kind=value unit[@time]`).
    @Test(arguments: [
        ("VS121", "04C9030800A1", ["people_count=3.0 people", "occupancy=1.0 state"]),
        ("VS121", "04C90002000005CC02000100", [
            "people_count=0.0 people", "occupancy=0.0 state", "people_in=2.0 people", "people_out=1.0 people",
        ]),
        ("VS133", "05CC0300010008CC09000900", ["people_in=3.0 people", "people_out=1.0 people"]),
        ("VS133", "20CE00F153650504000200", ["people_in=4.0 people@1700000000", "people_out=2.0 people@1700000000"]),
        ("VS132", "05CC02000300", ["people_in=2.0 people", "people_out=3.0 people"]),
        ("VS350", "20CE7B3AF164000B000400", ["people_in=11.0 people@1693530747", "people_out=4.0 people@1693530747"]),
        ("VS350", "85CCE803E90301", ["people_in=1000.0 people", "people_out=1001.0 people"]),
        ("VS340", "017562030001", ["battery=98.0 %", "occupancy=1.0 state"]),
        ("WS301", "030001", ["door=1.0 state"]),
        ("WS101", "FF2E02", ["button=2.0 event"]),
        ("DS3604", "FF2E03", ["button=3.0 event"]),
        ("WS303", "030001", ["leak=1.0 state"]),
        ("GS301", "047D0100057DFEFF", ["nh3=0.01 ppm"]),
        ("GS301", "067DE803", ["h2s=1.0 ppm"]),
        ("AM107", "06651C0079001400", ["light=28.0 lx"]),
        ("EM320-TH", "20CE9E74466310015D", ["temperature=27.2 °C@1665561758", "humidity=46.5 %RH@1665561758"]),
        ("EM500-CO2", "20CE00F15365D007F6276400C8",
         ["co2=2000.0 ppm@1700000000", "pressure=1023.0 hPa@1700000000", "temperature=10.0 °C@1700000000",
          "humidity=100.0 %RH@1700000000"]),
        ("WS203", "20CEAE5BA664040024016520CE5C5CA6640301340165", [
            "occupancy=0.0 state@1688624046", "temperature=29.2 °C@1688624046", "humidity=50.5 %RH@1688624046",
            "occupancy=1.0 state@1688624220", "temperature=30.8 °C@1688624220", "humidity=50.5 %RH@1688624220",
        ]),
    ])
    func readingsPerModel(model: String, hex: String, expected: [String]) throws {
        let decoded = try decode(model, hex)
        let samples = decoded.measurements.map { sample in
            "\(sample.kind.rawValue)=\(sample.value) \(sample.unit)" + (sample.timestamp.map { "@\(Int($0))" } ?? "")
        }
        #expect(samples == expected)
        #expect(decoded.warnings.isEmpty)
    }

    @Test func gasSensorWarmingUpIsShownButNotARreading() throws {
        let decoded = try decode("GS301", "047DFEFF057DFFFF")
        #expect(decoded.fields == ["nh3": "polarizing", "h2s": "error"])
        #expect(decoded.measurements.isEmpty)
    }

    @Test func sameChannelMeansDifferentThingsPerModel() throws {
        // 03 00 01: occupancy on VS340, magnet on WS301, leak on WS303; FF 2E 01: two button enums.
        #expect(try decode("VS340", "030001").fields == ["occupancy": "occupied"])
        #expect(try decode("WS301", "030001").fields == ["magnet_status": "open"])
        #expect(try decode("WS303", "030001").fields == ["leakage_status": "leak"])
        #expect(try decode("WS101", "FF2E01").fields == ["button_event": ["status": "short press"]])
        #expect(try decode("DS3604", "FF2E01").fields == ["button_status": "double_click"])
    }

    @Test func ds3604ContentEchoesCollectPerTemplateAndSkipLayoutEchoes() throws {
        // Template 2 (id bits 7-6 = 1), block 1 → text_2; an FB 03 layout echo of 3 bytes is skipped
        // whole (the vendor decoder would misread what follows it); FF 73 01 → template 2.
        let decoded = try decode("DS3604", "FB014102486AFB030003AABBCCFF7301")
        #expect(decoded.fields == ["template_2": ["text_2": "Hj"], "current_template_id": 2])
        #expect(decoded.warnings.isEmpty)
    }

    @Test func ds3604ImageEchoStopsWithAWarning() throws {
        let decoded = try decode("DS3604", "017564FB0200FF")
        #expect(decoded.fields == ["battery": 100])
        #expect(decoded.warnings == ["image data echo (FB 02): its layout is not published; stopped with 2 bytes undecoded"])
    }

    @Test func ds3604ContentLongerThanThePayloadIsTruncated() {
        let error = #expect(throws: DecodeError.self) { try decode("DS3604", "017564FB010005414243") }
        #expect(error?.code == .truncated)
        #expect(error?.offset == 3)
    }

    @Test func vs121HistoryStopsWithAWarningBecauseItsLayoutIsUnpublished() throws {
        let decoded = try decode("VS121", "06CD0520CE00F153650102")
        #expect(decoded.fields == ["people_count_max": 5])
        #expect(decoded.warnings.count == 1)
    }

    @Test func vs133DwellAndOcclusionAndChildLines() throws {
        let decoded = try decode("VS133", "10E4000A001400" + "50FC000101" + "11D205000000")
        #expect(decoded.fields == [
            "region_all_avg_dwell": 10, "region_all_max_dwell": 20,
            "occlusion_alarm": ["node": 1, "status": "triggered"], "line_1_child_total_in": 5,
        ])
    }

    @Test func peopleCounterBasicInformation() throws {
        let decoded = try decode("VS121", "FF0BFFFF0101FF086600B0940976FF090100FF1F1F07004B")
        #expect(decoded.fields == [
            "device_status": "on", "protocol_version": 1, "sn": "6600b0940976", "hardware_version": "1.0",
            "firmware_version": "31.7.0.75",
        ])
    }

    @Test func randomPayloadsNeverTrap() {
        var generator = SplitMix64(seed: 0x5EED)
        var outcomes = (decoded: 0, failed: 0)
        for _ in 0..<5_000 {
            let length = Int(generator.next() % 40)
            var payload = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            // Bias towards known channel ids so the walker goes deep, not just to the first byte.
            if length >= 2, generator.next() % 2 == 0 {
                payload[0] = [0x03, 0x20, 0xFF, 0x07, 0x04, 0xFB, 0x05, 0x10][Int(generator.next() % 8)]
            }
            for model in Milesight.models.map(\.model) {
                do {
                    _ = try registry.decode(vendor: "milesight", model: model, fPort: 85, payload: payload)
                    outcomes.decoded += 1
                } catch {
                    #expect(error.code == .truncated)
                    #expect((error.offset ?? -1) < payload.count)
                    outcomes.failed += 1
                }
            }
        }
        #expect(outcomes.decoded > 0)
        #expect(outcomes.failed > 0)
    }
}

/// A small deterministic generator, so the fuzz test is the same on every run.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
