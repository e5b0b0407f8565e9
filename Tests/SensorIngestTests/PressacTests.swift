import FleetJSON
import Testing

@testable import SensorIngest

/// Pressac gateway JSON (both firmware styles, the Azure wrapper) and the LoRaWAN CT clamp and
/// IAQ/RCS payloads: every Pressac vector of `sensor_vectors.json`.
@Suite struct PressacTests {
    static let gatewayVectors = VectorFile.entries(vendor: "Pressac").filter { $0["input_format"]?.string == "json" }
    static let loraVectors = VectorFile.entries(vendor: "Pressac").filter { $0["input_format"]?.string != "json" }

    @Test func theVectorFileHoldsTwelvePressacVectors() {
        #expect(Self.gatewayVectors.count == 5)
        #expect(Self.loraVectors.count == 7)
    }

    func messages(_ input: JSON, zone: LocalTimeZone? = nil) throws -> [DeviceMessage] {
        try Envelope.parse(
            .pressac, topic: "pressac/SIPG-12-006", payload: Array(input.serialized().utf8),
            options: EnvelopeOptions(localTimeZone: zone)
        ).compactMap { message in
            if case .reading(let report) = message { return report }
            return nil
        }
    }

    /// The researcher's normalization names some values after their unit (`co2_ppm`); those are
    /// checked as readings, the rest as typed fields.
    static let unitNamedKeys: [String: (ReadingKind, String)] = [
        "co2_ppm": (.co2, "ppm"), "temperature_C": (.temperature, "°C"), "humidity_pct": (.humidity, "%RH"),
    ]

    @Test(arguments: gatewayVectors.map { VectorCase($0) })
    func gatewayMessagesReadTheSameInBothFirmwareStyles(_ vector: VectorCase) throws {
        let expected = try #require(vector.entry["expected"]?.object)
        // The 2022 captures came from a UTC+8 site (messageDate 09:55:02Z for 17:55:02 local).
        let reports = try messages(try #require(vector.entry["input"]), zone: LocalTimeZone("+08:00"))
        #expect(reports.count == 1)
        let report = try #require(reports.first)
        #expect(report.device == expected["deviceId"]?.string)
        #expect(report.vendor == "pressac")
        #expect(report.model == expected["deviceType"]?.string)
        for (key, value) in expected {
            if let (kind, unit) = Self.unitNamedKeys[key] {
                #expect(report.measurements.contains(Measurement(kind: kind, value: value.double ?? .nan, unit: unit)))
            } else if key == "timestamp_local_no_tz" {
                #expect(report.fields["timestamp"] == value)
                let local = try RFC3339.parse((value.string ?? "") + "Z")
                #expect(report.measuredAt == local - 8 * 3600)
            } else if key == "utc_from_wrapper" {
                // Same instant to the second as the local gateway time read in UTC+8.
                let utc = try RFC3339.parse(value.string ?? "")
                #expect(abs((report.measuredAt ?? 0) - utc) < 1)
            } else {
                #expect(report.fields[key] == value, "\(key)")
            }
        }
        if let motion = expected["motionDetected"]?.bool {
            #expect(report.measurements.contains(Measurement(kind: .occupancy, value: motion ? 1 : 0, unit: "state")))
        }
        if let volts = expected["supplyVoltage"]?.double {
            #expect(report.measurements.contains(Measurement(kind: .battery, value: volts, unit: "V")))
        }
        // A message without any time cannot be told from a repeat: no duplicate key.
        #expect(report.dedupeKey.isEmpty == (expected["timestamp_local_no_tz"] == nil))
    }

    @Test func withoutAZoneTheWrapperUTCTimeIsUsedElseTheReceiveTime() throws {
        let wrapped = try #require(Self.gatewayVectors.first { $0["input"]?["d2cMessage"] != nil }?["input"])
        let report = try #require(try messages(wrapped).first)
        #expect(report.measuredAt == (try RFC3339.parse(try #require(wrapped["messageDate"]?.string))))
        let bare = try #require(wrapped["d2cMessage"])
        #expect(try messages(bare).first?.measuredAt == nil)
    }

    @Test func duplicateKeyIgnoresTheHearingGatewayButNotTheValues() throws {
        let base: JSONObject = [
            "timestamp": "2022-11-15 17:55:02", "deviceId": "050b4d4f", "deviceType": "Under-Desk-Sensor",
            "gatewayName": "SIPG-12-006", "dBm": "-61", "motionDetected": false,
        ]
        var other = base
        other["gatewayName"] = "SIPG-12-007"
        other["dBm"] = "-80"
        var changed = base
        changed["motionDetected"] = true
        let keys = try [base, other, changed].map { try messages(.object($0)).first?.dedupeKey }
        #expect(keys[0] == keys[1])
        #expect(keys[0] != keys[2])
        #expect(try messages(.object(base)).first?.device == "050B4D4F")
    }

    @Test func anUnreadableGatewayTimeKeepsTheValuesWithAWarning() throws {
        let report = try #require(try messages(
            ["deviceId": "1", "timestamp": "2022-13-01 00:00:00", "temperature": 20], zone: LocalTimeZone("UTC")
        ).first)
        #expect(report.measuredAt == nil)
        #expect(report.measurements == [Measurement(kind: .temperature, value: 20, unit: "°C")])
        #expect(report.warnings == ["timestamp '2022-13-01 00:00:00' is not a date and time; used the receive time"])
        #expect(!report.dedupeKey.isEmpty)
    }

    @Test func severalMessagesInAnArray() throws {
        let reports = try messages([["deviceid": "01"], ["deviceId": "02", "temperature": "21.5"]])
        #expect(reports.map(\.device) == ["01", "02"])
        #expect(reports[1].measurements == [Measurement(kind: .temperature, value: 21.5, unit: "°C")])
    }

    @Test(arguments: [
        (#"{"devicename":"x"}"#, DecodeError.Code.missingField, "deviceId"),
        (#"{"deviceId":5}"#, .invalidField, "deviceId"),
        (#"{"d2cMessage":"x"}"#, .invalidField, "d2cMessage"),
        (#"{"d2cMessage":{"deviceName":"x"}}"#, .missingField, "d2cMessage.deviceId"),
        (#"[{"deviceId":"1"},3]"#, .invalidField, "[1]"),
    ])
    func badMessagesNameTheField(json: String, code: DecodeError.Code, field: String) {
        let error = #expect(throws: DecodeError.self) {
            try Envelope.parse(.pressac, topic: "t", payload: Array(json.utf8), options: .init(localTimeZone: LocalTimeZone("UTC")))
        }
        #expect(error?.code == code)
        #expect(error?.field == field)
        #expect(error?.vendor == "pressac")
    }

    // MARK: LoRaWAN

    static func model(of label: String) -> String {
        label.hasPrefix("CTLW") ? "CTLW" : label.hasPrefix("SR_LIN_IAQ") ? "SR_LIN_IAQ" : "SR_LIN_RCS"
    }

    @Test(arguments: loraVectors.map { VectorCase($0) })
    func loraPayloadsDecodeLikeTheVendorDecoder(_ vector: VectorCase) throws {
        let entry = vector.entry
        let input = try #require(entry["input"]?.string)
        let payload = entry["input_format"]?.string == "base64" ? try Base64.decode(input) : bytes(input)
        let model = Self.model(of: entry["model"]?.string ?? "")
        let decoded = try DecoderRegistry.standard.decode(
            vendor: "pressac", model: model, fPort: entry["fPort"]?.int ?? Pressac.ctClampFPort, payload: payload)
        let expected = try #require(entry["expected"]?.object)
        #expect(jsonMatches(.object(decoded.fields), .object(expected)), "\(decoded.fields.serializedForTest)")
        #expect(decoded.fields.keys == expected.keys)
        #expect(decoded.warnings.isEmpty)
    }

    @Test(arguments: [
        ("CTLW", "7B00C801150305", ["current=13.68 A"]),
        ("IAQ", "262100000F825A0100802010042900D5",
         ["temperature=22.5 °C", "humidity=45.0 %RH", "pm10=2.0 µg/m³", "pm2_5=1.0 µg/m³", "co2=1065.0 ppm", "tvoc=213.0 µg/m³"]),
        ("RCS", "0620130031825A55015E", ["battery=3.6 V", "temperature=22.5 °C", "humidity=45.0 %RH", "sound=42.5 dBA", "light=350.0 lx"]),
        ("RCS", "0630130001", ["battery=3.6 V", "occupancy=1.0 state"]),
        ("RCS", "06101305410200711E140A140A", ["battery=3.6 V"]),
    ])
    func loraReadings(model: String, hex: String, expected: [String]) throws {
        let decoded = try DecoderRegistry.standard.decode(vendor: "pressac", model: model, fPort: 60, payload: bytes(hex))
        let samples = decoded.measurements.map { "\($0.kind.rawValue)=\(($0.value * 100).rounded() / 100) \($0.unit)" }
        #expect(samples == expected)
    }

    @Test func notConnectedSensorsAreShownButAreNotReadings() throws {
        // temphumid + co2 + tvoc present, every value all ones.
        let decoded = try DecoderRegistry.standard.decode(
            vendor: "pressac", model: "IAQ", fPort: 1, payload: bytes("26200000" + "07" + "FFFF" + "FFFF" + "FFFF"))
        #expect(decoded.fields["temperature"] == ["value": "Not connected", "units": "°C"])
        #expect(decoded.fields["co2"] == ["value": "Not connected", "units": "PPM"])
        #expect(decoded.fields["voc"] == ["value": "Not connected", "units": "Not connected"])
        #expect(decoded.measurements.isEmpty)
    }

    @Test(arguments: ["", "2621", "26210000", "262100000F825A01", "0630"])
    func shortPayloadsAreTruncatedErrors(hex: String) {
        let error = #expect(throws: DecodeError.self) {
            try DecoderRegistry.standard.decode(vendor: "pressac", model: "SR_LIN_IAQ", fPort: 1, payload: bytes(hex))
        }
        #expect(error?.code == .truncated)
        #expect(error?.vendor == "pressac")
        #expect(error?.model == "SR_LIN_IAQ")
    }

    @Test func ctClampOnAnotherPortWarnsAndShortPayloadFails() throws {
        let decoded = try DecoderRegistry.standard.decode(vendor: "pressac", model: "ct-clamp", fPort: 85, payload: bytes("7B00C801150305"))
        #expect(decoded.warnings == ["fPort 85 is not the CT clamp's port 60"])
        #expect(throws: DecodeError.self) {
            try DecoderRegistry.standard.decode(vendor: "pressac", model: "CTLW", fPort: 60, payload: bytes("7B00C8011503"))
        }
    }
}

/// One vector entry as a test argument.
struct VectorCase: Sendable, CustomTestStringConvertible {
    let entry: JSON
    init(_ entry: JSON) { self.entry = entry }
    var testDescription: String { entry["model"]?.string ?? "?" }
}
