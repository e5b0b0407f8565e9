import FleetJSON

/// Pressac IAQ (SR_LIN_IAQ_Lxxx) and RCS (SR_LIN_RCS_Lxxx) room sensors (sensors.md §2.2 and the
/// vendor's IAQ/RCS README tables). Unlike Milesight, multi-byte fields are **big-endian**.
///
/// Header, every message:
///
///     0  productId        shown as "0x26"
///     1  type | revision  high nibble 1 boot, 2 sensor data, 3 occupancy; low nibble revision
///     2  battery          0x00 external power, 0xFF not measured, else (n − 1) × 0.2 V
///
/// Sensor data (type 2): dataAge u8 (s), sensor bitfield (bit 0 temphumid, 1 tvoc, 2 co2, 3 pm,
/// 4 lux, 5 soundLevel, 6 pir), then per present sensor, in this order:
///
///     temphumid  2  temperature u8 → −10 + n/4 °C;  humidity u8 → n/2 %
///     pm         5  pm10, pm4, pm2_5, pm1_0 as 9-bit fields from the most significant bit
///     soundLevel 1  n/2 dBA
///     lux        2  u16 lx
///     co2        2  u16 ppm
///     tvoc       2  low 14 bits value, top 2 bits unit (TVOC μg/m3, TVOC ppb, VOC Index, Reserved)
///
/// All-ones values (0xFF, 0xFFFF, 0x1FF, 0x3FFF) are "Not connected" and yield no reading.
/// Occupancy (type 3): dataAge u8, then bit 0: Vacant / Occupied. Boot (type 1): see
/// ``decodeBoot(_:into:sensors:)``. A `pir` flag in a data message has no published layout:
/// decoding stops there with a warning.
struct PressacRoomSensor: SensorDecoder {
    let vendor = Pressac.vendor
    let model: String
    let aliases: [String]

    static let notConnected: JSON = "Not connected"
    static let vocUnits = ["TVOC μg/m3", "TVOC ppb", "VOC Index", "Reserved"]
    static let messageTypes = [1: "Boot message", 2: "Sensor data message", 3: "Occupancy data message"]

    /// The sensor bitfield, in bit order.
    static let sensorNames = ["temphumid", "tvoc", "co2", "pm", "lux", "soundLevel", "pir"]

    func decode(fPort: Int, payload: [UInt8]) throws(DecodeError) -> DecodedUplink {
        var reader = ByteReader(payload)
        var result = DecodedUplink()
        let product = try reader.u8()
        let typeAndRevision = try reader.u8()
        let type = Int(typeAndRevision >> 4)
        let battery = try reader.u8()
        result.fields["productId"] = .string("0x" + String(product, radix: 16, uppercase: true))
        result.fields["message"] = [
            "type": Self.messageTypes[type].map(JSON.string) ?? .null,
            "rev": .number(Double(typeAndRevision & 0x0F)),
        ]
        switch battery {
        case 0x00: result.fields["batteryVoltage"] = "External powered"
        case 0xFF: result.fields["batteryVoltage"] = "Not measured"
        default:
            let volts = rounded(Double(battery - 1) * 0.2)
            result.fields["batteryVoltage"] = .number(volts)
            result.measurements.append(Measurement(kind: .battery, value: volts, unit: ReadingUnit.volt))
        }
        switch type {
        case 1: try Self.decodeBoot(&reader, into: &result)
        case 2: try decodeData(&reader, into: &result)
        case 3:
            result.fields["dataAge"] = .number(Double(try reader.u8()))
            let occupied = try reader.u8() & 1
            result.fields["occupancyDetected"] = occupied == 1 ? "Occupied" : "Vacant"
            result.measurements.append(Measurement(kind: .occupancy, value: Double(occupied), unit: ReadingUnit.state))
        default:
            result.warnings.append("unknown message type \(type); \(reader.remaining) bytes undecoded")
        }
        return result
    }

    static func sensors(_ bits: UInt8) -> (flags: [Bool], json: JSON) {
        let flags = (0..<7).map { bits >> $0 & 1 == 1 }
        return (flags, .object(JSONObject(zip(sensorNames, flags).map { ($0, .bool($1)) })))
    }

    private func decodeData(_ reader: inout ByteReader, into result: inout DecodedUplink) throws(DecodeError) {
        result.fields["dataAge"] = .number(Double(try reader.u8()))
        let (present, json) = Self.sensors(try reader.u8())
        result.fields["isSensorsAvailable"] = json
        if present[0] {
            let temperature = try reader.u8()
            let humidity = try reader.u8()
            value("temperature", raw: Int(temperature), sentinel: 0xFF, units: "°C", into: &result,
                  kind: .temperature, unit: ReadingUnit.celsius) { -10 + Double($0) / 4 }
            value("humidity", raw: Int(humidity), sentinel: 0xFF, units: "%", into: &result,
                  kind: .humidity, unit: ReadingUnit.relativeHumidity) { Double($0) / 2 }
        }
        if present[3] {
            let bytes = try reader.bytes(5)
            let packed = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            var pm = JSONObject()
            for (index, name) in ["pm10", "pm4", "pm2_5", "pm1_0"].enumerated() {
                let raw = Int(packed >> UInt64(31 - 9 * index) & 0x1FF)
                pm[name] = raw == 0x1FF ? Self.notConnected : .number(Double(raw))
                let kinds: [String: ReadingKind] = ["pm10": .pm10, "pm2_5": .pm2_5]
                if raw != 0x1FF, let kind = kinds[name] {
                    result.measurements.append(
                        Measurement(kind: kind, value: Double(raw), unit: ReadingUnit.microgramsPerCubicMetre))
                }
            }
            pm["units"] = "µg/m³"
            result.fields["particulateMatter"] = .object(pm)
        }
        if present[5] {
            value("soundLevel", raw: Int(try reader.u8()), sentinel: 0xFF, units: "dBA", into: &result,
                  kind: .sound, unit: ReadingUnit.decibelA) { Double($0) / 2 }
        }
        if present[4] {
            value("illumination", raw: Int(try reader.u16(.big)), sentinel: 0xFFFF, units: "lx", into: &result,
                  kind: .light, unit: ReadingUnit.lux) { Double($0) }
        }
        if present[2] {
            value("co2", raw: Int(try reader.u16(.big)), sentinel: 0xFFFF, units: "PPM", into: &result,
                  kind: .co2, unit: ReadingUnit.ppm) { Double($0) }
        }
        if present[1] {
            let raw = try reader.u16(.big)
            let unit = Self.vocUnits[Int(raw >> 14)]
            let readingUnit = [0: ReadingUnit.microgramsPerCubicMetre, 1: "ppb", 2: "index"][Int(raw >> 14)]
            value("voc", raw: Int(raw & 0x3FFF), sentinel: 0x3FFF, units: unit, into: &result,
                  kind: readingUnit == nil ? nil : .tvoc, unit: readingUnit ?? "") { Double($0) }
            if raw & 0x3FFF == 0x3FFF { result.fields["voc"] = ["value": Self.notConnected, "units": Self.notConnected] }
        }
        if present[6] {
            result.warnings.append("a pir value in a sensor data message has no published layout; \(reader.remaining) bytes undecoded")
        }
    }

    /// `{"value": v, "units": u}` or "Not connected", and the reading when there is a value.
    private func value(
        _ name: String, raw: Int, sentinel: Int, units: String, into result: inout DecodedUplink,
        kind: ReadingKind?, unit: String, _ convert: (Int) -> Double
    ) {
        guard raw != sentinel else {
            result.fields[name] = ["value": Self.notConnected, "units": .string(units)]
            return
        }
        let number = rounded(convert(raw))
        result.fields[name] = ["value": .number(number), "units": .string(units)]
        if let kind { result.measurements.append(Measurement(kind: kind, value: number, unit: unit)) }
    }
}

/// Two decimals, as the vendor shows converted values.
func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }

extension PressacRoomSensor {
    /// Boot message (type 1): the device's configuration, no readings.
    ///
    ///     3-4  firmwareVersion   four nibbles "a.b.c.d"
    ///     5    resetReason       1 Power On, 2 Hard Reset, 3 Soft Reset, 4 Watchdog, 5 Brown out, 6 Other
    ///     6    hardwareRegion    0 EU868, 1 US915, 2 AS923, 3 AU915
    ///     7    sensor bitfield   as in data messages
    ///     8    readInterval      bit 0 Network / Dip Switch; bits 7-1 minutes
    ///     then, for present sensors: pm 1 (bit 0 auto-clean set, bits 4-2 days); co2 4 (two u16 BE:
    ///     bit 15 manual-calibration / auto-calibration flag, 15 bits ppm fresh-air / indoor
    ///     background); pir 2 (absence, repeated timeout, minutes); temphumid 2 (offsets, scaled
    ///     0.25n − 5 °C and 0.5n − 5 %); tvoc 1 (high nibble unit, low nibble equivalent)
    static func decodeBoot(_ reader: inout ByteReader, into result: inout DecodedUplink) throws(DecodeError) {
        let version = try reader.u16(.big)
        result.fields["firmwareVersion"] = .string(
            [12, 8, 4, 0].map { String(version >> $0 & 0x0F) }.joined(separator: "."))
        let resets = [1: "Power On", 2: "Hard Reset", 3: "Soft Reset", 4: "Watchdog", 5: "Brown out", 6: "Other"]
        result.fields["resetReason"] = resets[Int(try reader.u8())].map(JSON.string) ?? .null
        let regions = [0: "EU868", 1: "US915", 2: "AS923", 3: "AU915"]
        result.fields["hardwareRegionSelection"] = regions[Int(try reader.u8())].map(JSON.string) ?? .null
        let (present, json) = sensors(try reader.u8())
        result.fields["isSensorsAvailable"] = json
        let interval = try reader.u8()
        result.fields["readInterval"] = [
            "configuration": interval & 1 == 1 ? "Network" : "Dip Switch", "unit": "Minutes",
            "value": .number(Double(interval >> 1)),
        ]
        if present[3] {
            let mask = try reader.u8()
            var pm: JSONObject = ["isAutoCleanIntervalSet": .bool(mask & 1 == 1)]
            if mask & 1 == 1 { pm["autoCleanInterval"] = ["value": .number(Double(mask >> 2 & 0x07)), "units": "Days"] }
            result.fields["particuleMatter"] = .object(pm)
        }
        if present[2] {
            let fresh = try reader.u16(.big)
            let indoor = try reader.u16(.big)
            result.fields["co2"] = [
                "hasManualCalibrationPerformed": .bool(fresh >> 15 == 1),
                "freshAirBackgroundLevel": ["value": .number(Double(fresh & 0x7FFF)), "units": "PPM"],
                "isAutoCalibrationEnabled": .bool(indoor >> 15 == 1),
                "indoorAirBackgroundLevel": ["value": .number(Double(indoor & 0x7FFF)), "units": "PPM"],
            ]
        }
        if present[6] {
            let absence = try reader.u8()
            let repeated = try reader.u8()
            result.fields["pir"] = [
                "AbsenceTimeOut": ["value": .number(Double(absence)), "units": "Minutes"],
                "RepeatedTimeOut": ["value": .number(Double(repeated)), "units": "Minutes"],
            ]
        }
        if present[0] {
            let temperature = try reader.u8()
            let humidity = try reader.u8()
            result.fields["temperatureOffset"] = [
                "value": .number(Double(temperature)), "scaled": .number(rounded(0.25 * Double(temperature) - 5)),
                "units": "°C",
            ]
            result.fields["humidityOffset"] = [
                "value": .number(Double(humidity)), "scaled": .number(rounded(0.5 * Double(humidity) - 5)), "units": "%",
            ]
        }
        if present[1] {
            let voc = try reader.u8()
            let equivalents = ["Isobutylene", "Molhave", "Ethanol", "Reserved"]
            result.fields["voc"] = [
                "Unit": Int(voc >> 4) < vocUnits.count ? .string(vocUnits[Int(voc >> 4)]) : .null,
                "Equivalent": Int(voc & 0x0F) < equivalents.count ? .string(equivalents[Int(voc & 0x0F)]) : .null,
            ]
        }
    }
}
