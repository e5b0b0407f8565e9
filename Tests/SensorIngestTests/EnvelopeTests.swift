import FleetJSON
import Testing

@testable import SensorIngest

@Suite struct EnvelopeTests {
    @Test func documentedEnvelopesYieldTheirFields() throws {
        let envelopes = VectorFile.gatewayEnvelopes()
        #expect(envelopes.count == 3)
        for (input, expected) in envelopes {
            let uplink = try MilesightGatewayEnvelope.parse(Array(input.serialized().utf8))
            #expect(uplink.devEUI == expected["devEUI"]?.string?.uppercased())
            #expect(uplink.fPort == expected["fPort"]?.int)
            #expect(uplink.fCnt == expected["fCnt"]?.int)
            #expect(Hex.encode(uplink.payload) == expected["payload_hex"]?.string)
            #expect(uplink.rssi == expected["rssi"]?.double)
            #expect(uplink.snr == expected["snr"]?.double)
            let time = try RFC3339.parse(try #require(expected["time"]?.string))
            #expect(uplink.receivedAt == time)
            #expect(uplink.applicationID == "1")
            #expect(uplink.deviceName == input["deviceName"]?.string)
            #expect(uplink.gateway == expected["gatewaySN"]?.string ?? input["rxInfo"]?[0]?["mac"]?.string)
        }
    }

    /// The documented envelopes' payloads, decoded as the EM300-TH the gateway names; the first
    /// carries `05 00 00`, which is no EM300-TH channel: the vendor decoder stops there silently,
    /// we stop with a warning. (The raw-mode example is a WT102 thermostat, a model we do not decode.)
    @Test func documentedEnvelopePayloadsDecodeAsTheirModel() throws {
        var checked = 0
        for (input, expected) in VectorFile.gatewayEnvelopes() {
            guard let decoded = expected["decoded_em300_th_head_decoder"]?.object else { continue }
            let uplink = try MilesightGatewayEnvelope.parse(Array(input.serialized().utf8))
            let result = try DecoderRegistry.standard.decode(
                vendor: "milesight", model: "EM300-TH", fPort: uplink.fPort, payload: uplink.payload)
            #expect(jsonMatches(.object(result.fields), .object(decoded)))
            #expect(result.warnings.count == (uplink.payload.count == 10 ? 1 : 0), "\(result.warnings)")
            checked += 1
        }
        #expect(checked == 2)
    }

    static let valid: JSONObject = [
        "applicationID": 1, "devEUI": "24e124136b502217", "fCnt": 128, "fPort": 85, "data": "A2fqAARoTwUAAA==",
        "time": "2022-12-27T07:21:27.078763Z",
        "rxInfo": [["mac": "aa", "rssi": -90, "loRaSNR": 1.5], ["mac": "bb", "rssi": -51, "loRaSNR": 13.8]],
    ]

    func parse(_ change: (inout JSONObject) -> Void) throws(DecodeError) -> Uplink {
        var object = Self.valid
        change(&object)
        return try MilesightGatewayEnvelope.parse(Array(JSON.object(object).serialized().utf8))
    }

    @Test func strongestGatewayWins() throws {
        let uplink = try parse { _ in }
        #expect(uplink.gateway == "bb")
        #expect(uplink.rssi == -51)
        #expect(uplink.snr == 13.8)
        #expect(uplink.devEUI == "24E124136B502217")
        #expect(uplink.receivedAt == 1_672_125_687.078763)
    }

    @Test func optionalFieldsMayBeAbsent() throws {
        let uplink = try parse {
            $0["fCnt"] = nil
            $0["time"] = nil
            $0["rxInfo"] = nil
            $0["applicationID"] = nil
        }
        #expect(uplink.fCnt == nil)
        #expect(uplink.receivedAt == nil)
        #expect(uplink.gateway == nil)
        #expect(uplink.applicationID == nil)
        #expect(uplink.payload.count == 10)
    }

    @Test(arguments: [
        ("devEUI", DecodeError.Code.missingField, nil as JSON?),
        ("devEUI", .invalidField, "24e124"),
        ("devEUI", .invalidField, 42),
        ("fPort", .missingField, nil),
        ("fPort", .invalidField, 300),
        ("fPort", .invalidField, 85.5),
        ("fCnt", .invalidField, -1),
        ("fCnt", .invalidField, "128"),
        ("data", .missingField, nil),
        ("data", .base64, "A2fqAARoTwUAAA="),
        ("data", .base64, "A2fq AARoTwUAAA=="),
        ("data", .invalidField, 12),
        ("time", .timestamp, "2022-12-27 07:21:27"),
        ("time", .timestamp, "2019-02-91T12:30:00Z"),
        ("applicationID", .invalidField, true),
        ("rxInfo", .invalidField, "x"),
    ] as [(String, DecodeError.Code, JSON?)])
    func badFieldsAreNamed(field: String, code: DecodeError.Code, value: JSON?) {
        let error = #expect(throws: DecodeError.self) { try parse { $0[field] = value } }
        #expect(error?.code == code)
        #expect(error?.field == field)
        #expect(error?.vendor == "milesight-gateway")
    }

    @Test func nestedFieldErrorsCarryTheirPath() {
        let error = #expect(throws: DecodeError.self) {
            try parse { $0["rxInfo"] = [["rssi": "loud"]] }
        }
        #expect(error?.field == "rxInfo[0].rssi")
    }

    @Test func decodedByTheGatewayIsExplained() {
        let error = #expect(throws: DecodeError.self) {
            try parse {
                $0["data"] = nil
                $0["object"] = ["temperature": 23.4]
            }
        }
        #expect(error?.reason.contains("forward raw payloads") == true)
    }

    @Test func malformedJSONKeepsTheByteOffset() {
        let error = #expect(throws: DecodeError.self) {
            try MilesightGatewayEnvelope.parse(Array(#"{"devEUI": }"#.utf8))
        }
        #expect(error?.code == .malformedJSON)
        #expect(error?.offset == 11)
    }

    @Test func nonObjectIsRejected() {
        let error = #expect(throws: DecodeError.self) { try MilesightGatewayEnvelope.parse(Array("[1]".utf8)) }
        #expect(error?.code == .invalidField)
    }
}

@Suite struct Base64Tests {
    @Test(arguments: [
        ("", ""), ("AA==", "00"), ("AAE=", "0001"), ("AAEC", "000102"), ("/xD/", "ff10ff"),
        ("A2fqAARoTwUAAA==", "0367ea0004684f050000"), ("+/+/", "fbffbf"),
    ])
    func decodesCanonicalText(text: String, hex: String) throws {
        #expect(Hex.encode(try Base64.decode(text)) == hex)
    }

    @Test(arguments: [
        ("AA=", 3), ("A===", 1), ("AA=A", 3), ("====", 0), ("AB==", 1), ("AAF=", 2), ("AA*A", 2), ("AA==AAAA", 2),
        ("AAAA\n", 5),
    ])
    func rejectsWithTheOffset(text: String, offset: Int) {
        let error = #expect(throws: DecodeError.self) { try Base64.decode(text) }
        #expect(error?.code == .base64)
        #expect(error?.offset == offset)
    }

    @Test func unpaddedOnlyWhenAllowed() throws {
        #expect(try Base64.decode("/xD/AA", requirePadding: false) == [0xFF, 0x10, 0xFF, 0x00])
        #expect(throws: DecodeError.self) { try Base64.decode("/xD/AA") }
    }
}

@Suite struct RFC3339Tests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", 0.0),
        ("2022-12-27T07:21:27.078763Z", 1_672_125_687.078763),
        ("2025-04-08T10:15:19+01:00", 1_744_103_719),
        ("2026-03-23T15:45:04+08:00", 1_774_251_904),
        ("2019-12-03T14:09:34-05:30", 1_575_401_974),
        ("2000-02-29T23:59:59z", 951_868_799),
        ("2000-03-01t00:00:00Z", 951_868_800),
        ("2019-02-01T12:30:00+0000", 1_549_024_200),
        ("2024-06-01 12:00:00Z", 1_717_243_200),
        ("2024-06-01T12:00:00.123456789123Z", 1_717_243_200.123456789),
        ("1969-12-31T23:59:59Z", -1),
        ("2016-12-31T23:59:60Z", 1_483_228_800),
        ("2100-03-01T00:00:00Z", 4_107_542_400),
    ])
    func parses(text: String, seconds: Double) throws {
        let parsed = try RFC3339.parse(text)
        #expect(abs(parsed - seconds) < 1e-6, "\(text) → \(parsed)")
    }

    @Test(arguments: [
        ("2019-02-91T12:30:00+0000", 8),  // Irisys' own example
        ("2023-02-29T00:00:00Z", 8),
        ("2100-02-29T00:00:00Z", 8),
        ("2024-13-01T00:00:00Z", 5),
        ("2024-06-01T24:00:00Z", 11),
        ("2024-06-01T12:00:00", 19),
        ("2024-06-01T12:00:00.Z", 20),
        ("2024-06-01T12:00Z", 16),
        ("2024-06-01T12:00:00+25:00", 19),
        ("2024-06-01T12:00:00Zjunk", 20),
        ("24-06-01T12:00:00Z", 2),
        ("", 0),
    ])
    func rejects(text: String, offset: Int) {
        let error = #expect(throws: DecodeError.self) { try RFC3339.parse(text) }
        #expect(error?.code == .timestamp)
        #expect(error?.offset == offset)
    }
}
