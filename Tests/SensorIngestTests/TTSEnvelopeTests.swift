import FleetJSON
import Testing

@testable import SensorIngest

@Suite struct TTSEnvelopeTests {
    static let topic = "v3/app1@tenant1/devices/dev1/up"

    func uplink(topic: String = topic, _ input: JSON) throws -> Uplink? {
        let messages = try Envelope.parse(.ttsV3, topic: topic, payload: Array(input.serialized().utf8))
        guard case .lorawan(let uplink) = messages.first else { return nil }
        return uplink
    }

    @Test func documentedUplinksYieldTheirFieldsWithOmittedZeroes() throws {
        let entries = VectorFile.entries(vendor: "The Things Stack")
        #expect(entries.count == 2)
        for entry in entries {
            let expected = try #require(entry["expected"]?.object)
            let input = try #require(entry["input"])
            let parsed = try uplink(input)
            let uplink = try #require(parsed)
            #expect(uplink.devEUI == expected["dev_eui"]?.string)
            // The data-formats example has no f_port and the MQTT example no f_cnt: TTS omits zeroes.
            #expect(uplink.fPort == expected["f_port"]?.int ?? 0)
            #expect(uplink.fCnt == expected["f_cnt"]?.int)
            #expect(Hex.encode(uplink.payload) == expected["payload_hex"]?.string)
            #expect(uplink.rssi == expected["rssi"]?.double)
            #expect(uplink.snr == expected["snr"]?.double)
            #expect(uplink.receivedAt == (try expected["received_at"]?.string.map(RFC3339.parse)))
            #expect(uplink.deviceName == "dev1")
            #expect(uplink.applicationID == "app1")
        }
    }

    static let valid: JSON = [
        "end_device_ids": ["device_id": "am307-3-14", "application_ids": ["application_id": "hq"], "dev_eui": "24E124136B502217"],
        "uplink_message": [
            "f_port": 85, "f_cnt": 3, "frm_payload": "A2fqAA==", "received_at": "2024-05-01T10:00:01Z",
            "rx_metadata": [["gateway_ids": ["gateway_id": "gw-a", "eui": "AA"], "rssi": -90, "snr": 2]],
        ],
    ]

    func modified(_ change: (inout JSONObject, inout JSONObject) -> Void) -> JSON {
        var root = Self.valid.object!
        var message = root["uplink_message"]!.object!
        change(&root, &message)
        root["uplink_message"] = .object(message)
        return .object(root)
    }

    @Test func uplinkReceiveTimeIsTheFallback() throws {
        let parsed = try uplink(Self.valid)
        let uplink = try #require(parsed)
        #expect(uplink.receivedAt == 1_714_557_601)
        #expect(uplink.gateway == "gw-a")
        #expect(uplink.fPort == 85)
        #expect(uplink.fCnt == 3)
    }

    @Test(arguments: ["join", "down/queued", "down/sent", "down/ack", "down/nack", "down/failed", "service/data", "location/solved"])
    func otherMessagesAreNotUplinks(kind: String) throws {
        #expect(try uplink(topic: "v3/app1/devices/dev1/" + kind, Self.valid) == nil)
    }

    @Test func aDeviceWithoutDevEUICannotBeClaimedAndSaysSo() {
        let input = modified { root, _ in root["end_device_ids"] = ["device_id": "abp-1"] }
        let error = #expect(throws: DecodeError.self) { try uplink(input) }
        #expect(error?.code == .missingField)
        #expect(error?.field == "end_device_ids.dev_eui")
        #expect(error?.vendor == "tts-v3")
    }

    @Test(arguments: [
        ("f_port", DecodeError.Code.invalidField, -1 as JSON, "uplink_message.f_port"),
        ("f_cnt", .invalidField, 1.5, "uplink_message.f_cnt"),
        ("frm_payload", .base64, "%%%%", "uplink_message.frm_payload"),
        ("received_at", .timestamp, "2024-02-30T00:00:00Z", "uplink_message.received_at"),
        ("rx_metadata", .invalidField, ["x"], "uplink_message.rx_metadata[0]"),
    ] as [(String, DecodeError.Code, JSON, String)])
    func badFieldsAreNamed(key: String, code: DecodeError.Code, value: JSON, field: String) {
        let input = modified { _, message in message[key] = value }
        let error = #expect(throws: DecodeError.self) { try uplink(input) }
        #expect(error?.code == code)
        #expect(error?.field == field)
    }

    @Test func missingUplinkMessageOnTheUpTopicIsAnError() {
        let error = #expect(throws: DecodeError.self) {
            try uplink(["end_device_ids": ["dev_eui": "24E124136B502217"]])
        }
        #expect(error?.field == "uplink_message")
    }
}
