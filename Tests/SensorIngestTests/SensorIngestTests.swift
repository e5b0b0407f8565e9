import FleetTestSupport
import FleetJSON
import FleetLoop
import Testing

@testable import SensorIngest

@Suite struct SensorIngestTests {
    let directory: TemporaryDirectory
    let store: TelemetryStore
    let clock = ManualClock(unixTime: 1_800_000_000)
    let logs = CapturedLogs()
    let ingest: SensorIngest

    static let am307 = "24E124710C123456"
    static let topic = "milesight/uplink/24e124710c123456"
    /// The envelope's `time`, 2027-01-15T07:59:58.5Z: 1.5 s before the controller's clock.
    static let networkTime = 1_799_999_998.5

    init() throws {
        directory = TemporaryDirectory()
        store = try TelemetryStore(path: directory.path + "/telemetry.sqlite")
        ingest = SensorIngest(store: store, clock: clock, logger: logs.logger, dedupeWindow: 3_600)
        try ingest.claim(Sensor(devEUI: "24e124710c123456", vendor: "Milesight", model: "am307", resource: "hq/3/3.14"))
    }

    /// A gateway envelope around `hex`, as the UG65 publishes it.
    func envelope(
        _ hex: String, devEUI: String = "24e124710c123456", fCnt: Int? = 7, time: String? = "2027-01-15T07:59:58.5Z",
        mac: String = "24e124fffef54092"
    ) -> [UInt8] {
        var object: JSONObject = [
            "applicationID": "1", "devEUI": .string(devEUI), "deviceName": "AM307", "fPort": 85,
            "data": .string(base64(bytes(hex))), "rxInfo": [["mac": .string(mac), "rssi": -51, "loRaSNR": 13.8]],
        ]
        if let fCnt { object["fCnt"] = .number(Double(fCnt)) }
        if let time { object["time"] = .string(time) }
        return Array(JSON.object(object).serialized().utf8)
    }

    @Test func envelopeToRows() throws {
        ingest.handle(topic: Self.topic, payload: envelope(readme), format: .milesightGateway)
        #expect(ingest.pendingReadings == 7)
        #expect(try store.series(limit: 100).isEmpty)  // nothing written before the flush

        clock.advance(by: .seconds(2))
        #expect(ingest.flush() == 7)
        let rows = try store.series(sensor: Self.am307, limit: 100)
        #expect(rows.count == 7)
        let co2 = try #require(rows.first { $0.kind == .co2 })
        #expect(co2 == Reading(
            sensor: Self.am307, resource: "hq/3/3.14", kind: .co2, value: 936, unit: "ppm",
            timestamp: Self.networkTime, receivedAt: 1_800_000_000))
        #expect(try store.latest(sensor: Self.am307).first { $0.kind == .pressure }?.value == 1008.6)
        #expect(ingest.counters.received == 1)
        #expect(ingest.counters.stored == 7)
        #expect(ingest.flush() == 0)
    }

    @Test func withoutEnvelopeTimeTheReceiveTimeDates() throws {
        ingest.handle(topic: Self.topic, payload: envelope("01755C", time: nil), format: .milesightGateway)
        ingest.flush()
        #expect(try store.series(limit: 10).map(\.timestamp) == [1_800_000_000])
    }

    @Test func historyRecordsKeepTheirDeviceTime() throws {
        ingest.handle(
            topic: Self.topic, payload: envelope("01755C20CE00F15365EE007C000102A80325006627"),
            format: .milesightGateway)
        ingest.flush()
        let rows = try store.series(sensor: Self.am307, limit: 100)
        #expect(rows.count == 8)
        #expect(rows.filter { $0.timestamp == 1_700_000_000 }.count == 7)
        #expect(rows.first { $0.kind == .battery }?.timestamp == Self.networkTime)
    }

    @Test func copiesFromAnotherGatewayAreStoredOnce() throws {
        ingest.handle(topic: Self.topic, payload: envelope(readme, mac: "aa"), format: .milesightGateway)
        ingest.handle(topic: Self.topic, payload: envelope(readme, mac: "bb"), format: .milesightGateway)
        ingest.flush()
        // After the flush the filter answers from the database.
        ingest.handle(topic: Self.topic, payload: envelope(readme, mac: "cc"), format: .milesightGateway)
        ingest.flush()
        #expect(try store.series(limit: 100).count == 7)
        #expect(ingest.counters.duplicates == 2)

        // The next frame, and the same frame once the window has passed, are new.
        ingest.handle(topic: Self.topic, payload: envelope(readme, fCnt: 8), format: .milesightGateway)
        clock.advance(by: .seconds(3_601))
        ingest.handle(topic: Self.topic, payload: envelope(readme), format: .milesightGateway)
        ingest.flush()
        #expect(try store.series(limit: 100).count == 21)
        #expect(ingest.counters.duplicates == 2)
    }

    @Test func withoutFrameCounterNothingIsADuplicate() throws {
        ingest.handle(topic: Self.topic, payload: envelope("01755C", fCnt: nil), format: .milesightGateway)
        ingest.handle(topic: Self.topic, payload: envelope("01755C", fCnt: nil), format: .milesightGateway)
        ingest.flush()
        #expect(try store.series(limit: 10).count == 2)
    }

    @Test func unknownDevicesAreDiscoveredAndLoggedOnce() throws {
        for _ in 0..<3 {
            ingest.handle(
                topic: "t/x", payload: envelope("01755C", devEUI: "24e1240000000001", fCnt: nil),
                format: .milesightGateway)
        }
        ingest.flush()
        #expect(ingest.counters.unknownDevice == 3)
        let discovered = try store.discovered()
        #expect(discovered.map(\.devEUI) == ["24E1240000000001"])
        #expect(discovered.first?.count == 3)
        #expect(discovered.first?.deviceName == "AM307")
        #expect(discovered.first?.lastPayload == [0x01, 0x75, 0x5C])
        #expect(try store.series(limit: 10).isEmpty)
        #expect(logs.count(containing: "unclaimed") == 1)
    }

    @Test(arguments: [
        (Array("{\"devEUI\": ".utf8), "", "invalid JSON"),
        (Array("{\"devEUI\":\"24e124710c123456\",\"fPort\":85,\"data\":\"A*==\"}".utf8), "", "data: invalid base64"),
        (Array("{\"devEUI\":\"24e124710c123456\",\"data\":\"AQ==\"}".utf8), "", "fPort: missing"),
    ])
    func badEnvelopesAreDeadLettered(payload: [UInt8], device: String, reason: String) throws {
        ingest.handle(topic: "t/bad", payload: payload, format: .milesightGateway)
        ingest.handle(topic: "t/bad", payload: payload, format: .milesightGateway)
        ingest.flush()
        let letters = try store.deadLetters(limit: 10)
        #expect(letters.count == 2)
        #expect(letters.first?.device == device)
        #expect(letters.first?.topic == "t/bad")
        #expect(letters.first?.payload == payload)
        #expect(letters.first?.reason.contains(reason) == true, "\(letters.first?.reason ?? "")")
        #expect(ingest.counters.deadLettered == 2)
        #expect(logs.count(containing: "dead-lettered") == 1)  // once per device and cause
    }

    @Test func undecodablePayloadsAreDeadLetteredAgainstTheDevice() throws {
        ingest.handle(topic: Self.topic, payload: envelope("01755C0367EE"), format: .milesightGateway)
        ingest.flush()
        let letter = try #require(try store.deadLetters(limit: 1).first)
        #expect(letter.device == Self.am307)
        #expect(letter.reason == "milesight AM307: channel 0x03 type 0x67 needs 2 bytes, 1 left (at byte 3)")
        #expect(try store.deadLetterCounts().first?.device == Self.am307)
        #expect(try store.series(limit: 10).isEmpty)
    }

    @Test func partialDecodesStoreWhatWasDecodedAndWarnOnce() throws {
        ingest.handle(topic: Self.topic, payload: envelope("01755C056A4900", fCnt: 1), format: .milesightGateway)
        ingest.handle(topic: Self.topic, payload: envelope("01755D056A4900", fCnt: 2), format: .milesightGateway)
        ingest.flush()
        #expect(try store.series(limit: 10).map(\.value) == [93, 92])
        #expect(ingest.counters.decodeWarnings == 2)
        #expect(logs.count(containing: "unknown channel 0x05 type 0x6A") == 1)
    }

    @Test func oversizedMessagesAreNotParsed() throws {
        let payload = [UInt8](repeating: UInt8(ascii: "{"), count: SensorIngest.maxPayloadBytes + 1)
        ingest.handle(topic: "t/big", payload: payload, format: .milesightGateway)
        ingest.flush()
        #expect(ingest.counters.oversized == 1)
        #expect(ingest.counters.deadLettered == 1)
        let letter = try #require(try store.deadLetters(limit: 1).first)
        #expect(letter.payload.count == 4_096)
        #expect(letter.reason.hasPrefix("oversized: 65537 bytes"))
    }

    @Test func aBrokenDatabaseNeverThrowsAndKeepsTheBatch() throws {
        ingest.handle(topic: Self.topic, payload: envelope(readme), format: .milesightGateway)
        store.db.close()
        #expect(ingest.flush() == 0)
        #expect(ingest.flush() == 0)
        #expect(ingest.counters.storeErrors == 2)
        #expect(ingest.pendingReadings == 7)
        #expect(logs.count(containing: "cannot write telemetry") == 1)
        ingest.handle(topic: Self.topic, payload: envelope(readme, fCnt: 8), format: .milesightGateway)
        #expect(ingest.pendingReadings == 14)
    }

    @Test func claimingChecksAndCanonicalizes() throws {
        #expect(ingest.sensors == [
            Sensor(devEUI: Self.am307, vendor: "milesight", model: "AM307", resource: "hq/3/3.14")
        ])
        #expect(throws: DecodeError.self) {
            try ingest.claim(Sensor(devEUI: "24E124710C123457", vendor: "milesight", model: "AM999", resource: "x"))
        }
        #expect(throws: DecodeError.self) {
            try ingest.claim(Sensor(devEUI: "24E1", vendor: "milesight", model: "AM307", resource: "x"))
        }
        ingest.unclaim(devEUI: "24-E1-24-71-0C-12-34-56")
        #expect(ingest.sensors.isEmpty)
        ingest.handle(topic: Self.topic, payload: envelope(readme), format: .milesightGateway)
        #expect(ingest.counters.unknownDevice == 1)
    }

    @Test func cliDecodesVendorFieldsOrReadings() throws {
        let payload = try #require(SensorIngest.parsePayloadArgument("03 67 EE 00 05 00 01"))
        let vendor = try SensorIngest.decodeForCLI(
            vendor: "milesight", model: "AM307", payload: payload, normalized: false)
        #expect(vendor.serialized() == #"{"temperature":23.8,"pir":"trigger"}"#)
        let normalized = try SensorIngest.decodeForCLI(
            vendor: "milesight", model: "AM307", payload: payload, normalized: true)
        #expect(normalized == [
            "readings": [
                ["kind": "temperature", "value": 23.8, "unit": "°C"],
                ["kind": "occupancy", "value": 1, "unit": "state"],
            ],
            "warnings": [],
        ])
        #expect(throws: DecodeError.self) {
            try SensorIngest.decodeForCLI(vendor: "milesight", model: "AM307", payload: [0x03], normalized: false)
        }
    }

    @Test func cliHandsWarningsOverWhenPrintingVendorFields() throws {
        // Temperature, then a channel/type pair AM307 does not have.
        let payload: [UInt8] = [0x03, 0x67, 0xEE, 0x00, 0x7E, 0x7E, 0x01]
        var warnings: [String] = []
        let vendor = try SensorIngest.decodeForCLI(
            vendor: "milesight", model: "AM307", payload: payload, normalized: false, onWarning: { warnings.append($0) })
        #expect(vendor.serialized() == #"{"temperature":23.8}"#)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("unknown channel") == true)
    }

    @Test(arguments: [
        ("0367EE00", [0x03, 0x67, 0xEE, 0x00]),
        ("03 67 ee 00", [0x03, 0x67, 0xEE, 0x00]),
        ("0x0367", [0x03, 0x67]),
        ("A2fqAA==", [0x03, 0x67, 0xEA, 0x00]),
        ("A2fqAA", [0x03, 0x67, 0xEA, 0x00]),
        ("/xD/", [0xFF, 0x10, 0xFF]),
    ] as [(String, [UInt8])])
    func payloadArgumentsAreHexOrBase64(text: String, expected: [UInt8]) {
        #expect(SensorIngest.parsePayloadArgument(text) == expected)
    }

    @Test(arguments: ["", "  ", "03 67 E", "not base64!", "A==="])
    func unreadablePayloadArgumentsAreNil(text: String) {
        #expect(SensorIngest.parsePayloadArgument(text) == nil)
    }

    let readme = "0367EE0004687C05000106CB02077DA803087D250009736627"
}

/// Base64 for building envelopes in tests (the library only decodes).
func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    var text = ""
    var index = 0
    while index < bytes.count {
        let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
        let value = chunk.enumerated().reduce(0) { $0 | Int($1.element) << (16 - 8 * $1.offset) }
        for position in 0..<4 {
            text.append(position <= chunk.count ? alphabet[(value >> (18 - 6 * position)) & 63] : "=")
        }
        index += 3
    }
    return text
}
