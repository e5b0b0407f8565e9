import FleetJSON
import Testing

@testable import SensorIngest

@Suite struct ChirpStackEnvelopeTests {
    static let topic = "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up"

    @Test func documentedUplinkYieldsItsFieldsWithTheOmittedFCntAsZero() throws {
        let entries = VectorFile.entries(vendor: "ChirpStack")
        #expect(entries.count == 1)
        for entry in entries {
            let input = try #require(entry["input"])
            let expected = try #require(entry["expected"]?.object)
            let messages = try Envelope.parse(.chirpstackV4, topic: Self.topic, payload: Array(input.serialized().utf8))
            guard case .lorawan(let uplink) = try #require(messages.first) else {
                Issue.record("not an uplink")
                return
            }
            #expect(messages.count == 1)
            #expect(uplink.devEUI == expected["devEui"]?.string)
            #expect(uplink.fPort == expected["fPort"]?.int)
            #expect(uplink.fCnt == expected["fCnt"]?.int)  // absent in the input: proto3 dropped the 0
            #expect(Hex.encode(uplink.payload) == expected["payload_hex"]?.string)
            #expect(uplink.rssi == expected["rssi"]?.double)
            #expect(uplink.snr == expected["snr"]?.double)
            #expect(uplink.receivedAt == (try RFC3339.parse(try #require(expected["time"]?.string))))
            #expect(uplink.gateway == "0016c001f153a14c")
            #expect(uplink.applicationID == "17c82e96-be03-4f38-aef3-f83d48582d97")
            #expect(uplink.deviceName == "Test device")
        }
    }

    static let valid: JSONObject = [
        "time": "2024-05-01T10:00:00.5+00:00", "deviceInfo": ["devEui": "24e124136b502217", "deviceName": "AM307"],
        "fCnt": 9, "fPort": 85, "data": "A2fqAA==",
        "rxInfo": [["gatewayId": "aa", "rssi": -100, "snr": 1], ["gatewayId": "bb", "rssi": -40, "snr": 9.5]],
    ]

    func parse(topic: String = topic, _ change: (inout JSONObject) -> Void = { _ in }) throws(DecodeError) -> [IngestMessage] {
        var object = Self.valid
        change(&object)
        return try Envelope.parse(.chirpstackV4, topic: topic, payload: Array(JSON.object(object).serialized().utf8))
    }

    func uplink(_ change: (inout JSONObject) -> Void = { _ in }) throws -> Uplink {
        guard case .lorawan(let uplink) = try #require(try parse(change).first) else { throw DecodeError(.missingField, reason: "none") }
        return uplink
    }

    @Test func strongestGatewayAndNanosecondTime() throws {
        let uplink = try uplink()
        #expect(uplink.devEUI == "24E124136B502217")
        #expect(uplink.gateway == "bb")
        #expect(uplink.snr == 9.5)
        #expect(uplink.receivedAt == 1_714_557_600.5)
        #expect(Hex.encode(uplink.payload) == "0367ea00")
    }

    @Test func proto3ZeroValuesMayBeOmitted() throws {
        let uplink = try uplink {
            $0["fCnt"] = nil
            $0["fPort"] = nil
            $0["data"] = nil
            $0["rxInfo"] = nil
            $0["time"] = nil
        }
        #expect(uplink.fCnt == 0)
        #expect(uplink.fPort == 0)
        #expect(uplink.payload.isEmpty)
        #expect(uplink.receivedAt == nil)
    }

    @Test(arguments: ["join", "status", "ack", "txack", "log", "location", "integration"])
    func otherEventsAreNotUplinks(event: String) throws {
        let topic = "application/x/device/0101010101010101/event/\(event)"
        #expect(try parse(topic: topic).isEmpty)
        // …even when their body is not an uplink at all.
        #expect(try Envelope.parse(.chirpstackV4, topic: topic, payload: Array("{}".utf8)).isEmpty)
    }

    @Test(arguments: [
        ("deviceInfo", DecodeError.Code.missingField, nil as JSON?, "deviceInfo"),
        ("deviceInfo", .invalidField, ["devEui": "0101"], "deviceInfo.devEui"),
        ("deviceInfo", .missingField, ["deviceName": "x"], "deviceInfo.devEui"),
        ("fPort", .invalidField, 256, "fPort"),
        ("fCnt", .invalidField, "9", "fCnt"),
        ("data", .base64, "A2fqAA=", "data"),
        ("time", .timestamp, "yesterday", "time"),
        ("rxInfo", .invalidField, [["rssi": "loud"]], "rxInfo[0].rssi"),
    ] as [(String, DecodeError.Code, JSON?, String)])
    func badFieldsAreNamed(key: String, code: DecodeError.Code, value: JSON?, field: String) {
        let error = #expect(throws: DecodeError.self) { try parse { $0[key] = value } }
        #expect(error?.code == code)
        #expect(error?.field == field)
        #expect(error?.vendor == "chirpstack-v4")
    }

    @Test func protobufPayloadIsMalformedJSON() {
        // `json = false` in chirpstack.toml sends protobuf; the reason must point at the JSON.
        let error = #expect(throws: DecodeError.self) {
            try Envelope.parse(.chirpstackV4, topic: Self.topic, payload: [0x0A, 0x24, 0x33])
        }
        #expect(error?.code == .malformedJSON)
    }
}
