import FleetJSON

/// JSON from a Pressac EnOcean gateway (sensors.md §2.1), in either firmware style:
///
///     {"deviceid":"050B1EE8","devicename":"Desk01","dbm":"-53","devicetype":"Under-Desk-Sensor",
///      "motionDetected":"false","supplyVoltage":"3.26"}                         (2019: strings)
///     {"timestamp":"2019-12-03 14:09:34","deviceId":"058A7F72","deviceType":"Occupancy-PIR",
///      "dBm":"-88","motionDetected":true,"supplyVoltage":{"value":2.58,"unit":"V"},…}  (typed)
///
/// optionally wrapped by Azure IoT Hub / Node-RED as `{"d2cMessage":{…},"messageDate":"…Z",
/// "deviceId":"<gateway>"}` (the outer `deviceId` is the gateway, never the sensor), or several
/// messages in a JSON array.
///
/// Output fields use the camelCase keys with typed values (`"false"` → false, `"3.26"` → 3.26,
/// `{value,unit}` → its value), so both firmware styles read the same. Values become readings:
/// motionDetected → occupancy, supplyVoltage → battery (V), concentration → co2, temperature,
/// humidity, illumination → light. Other keys stay fields.
///
/// Time: the gateway's `timestamp` is local wall time without an offset. With a configured
/// ``LocalTimeZone`` it becomes the reading time; without one, the wrapper's UTC `messageDate`
/// is used when present, else the receive time. The duplicate key is sensor id + the time text +
/// the values (not the signal strength, which differs per gateway); a message without any time
/// has an empty key, because a repeat and a new report with the same values cannot be told apart
/// (Pressac repeats unchanged state by design).
enum PressacGatewayEnvelope {
    static let format = EnvelopeFormat.pressac.rawValue

    /// Lowercased key → canonical key. Keys not listed are kept as they came.
    static let canonicalKeys: [String: String] = [
        "deviceid": "deviceId", "devicename": "deviceName", "devicetype": "deviceType",
        "gatewayname": "gatewayName", "dbm": "dBm", "timestamp": "timestamp", "location": "location",
        "security": "security", "motiondetected": "motionDetected", "supplyvoltage": "supplyVoltage",
        "concentration": "concentration", "temperature": "temperature", "humidity": "humidity",
        "illumination": "illumination",
    ]
    /// Keys about the message rather than the sensor's values: text, and not part of the key.
    static let metadataKeys: Set<String> = [
        "deviceId", "deviceName", "deviceType", "gatewayName", "location", "security", "timestamp", "dBm",
    ]
    static let readings: [String: (kind: ReadingKind, unit: String)] = [
        "motionDetected": (.occupancy, ReadingUnit.state), "supplyVoltage": (.battery, ReadingUnit.volt),
        "concentration": (.co2, ReadingUnit.ppm), "temperature": (.temperature, ReadingUnit.celsius),
        "humidity": (.humidity, ReadingUnit.relativeHumidity), "illumination": (.light, ReadingUnit.lux),
    ]

    static func parse(_ bytes: [UInt8], timeZone: LocalTimeZone?) throws(DecodeError) -> [DeviceMessage] {
        let root = try EnvelopeFields.parseJSON(bytes, format: format)
        if let array = root.array {
            var messages: [DeviceMessage] = []
            for (index, element) in array.enumerated() {
                guard let object = element.object else {
                    throw DecodeError(.invalidField, vendor: format, field: "[\(index)]", reason: "not an object")
                }
                messages.append(try message(object, path: "[\(index)].", timeZone: timeZone))
            }
            return messages
        }
        guard let object = root.object else {
            throw DecodeError(.invalidField, vendor: format, reason: "the message is not a JSON object")
        }
        return [try message(object, path: "", timeZone: timeZone)]
    }

    private static func message(_ outer: JSONObject, path: String, timeZone: LocalTimeZone?) throws(DecodeError) -> DeviceMessage {
        var object = outer
        var path = path
        var wrapperTime: Double?
        var wrapperText: String?
        if let wrapped = outer["d2cMessage"] {
            guard let inner = wrapped.object else {
                throw DecodeError(.invalidField, vendor: format, field: path + "d2cMessage", reason: "not an object")
            }
            let wrapper = EnvelopeFields(format: format, outer, path: path)
            wrapperText = try wrapper.optionalString("messageDate")
            wrapperTime = try wrapper.optionalTime("messageDate")
            object = inner
            path += "d2cMessage."
        }
        var fields = JSONObject()
        var measurements: [Measurement] = []
        for (key, value) in object {
            let name = canonicalKeys[key.lowercased()] ?? key
            let typed = metadataKeys.contains(name) && name != "dBm" ? value : typedValue(value)
            fields[name] = typed
            if let (kind, unit) = readings[name], let number = typed.double ?? typed.bool.map({ $0 ? 1 : 0 }) {
                measurements.append(Measurement(kind: kind, value: number, unit: unit))
            }
        }
        guard let idValue = fields["deviceId"] else {
            throw DecodeError(.missingField, vendor: format, field: path + "deviceId", reason: "missing (deviceid)")
        }
        guard let id = idValue.string, !id.isEmpty else {
            throw DecodeError(.invalidField, vendor: format, field: path + "deviceId", reason: "expected a sensor id string")
        }
        let timeText = fields["timestamp"]?.string
        var measuredAt = wrapperTime
        var warnings: [String] = []
        if let timeText {
            if let absolute = try? RFC3339.parse(timeText) {
                measuredAt = absolute
            } else if let timeZone {
                // An unreadable gateway time must not lose the values: they keep the fallback time.
                do {
                    measuredAt = timeZone.utc(fromLocal: try RFC3339.parse(timeText + "Z"))
                } catch {
                    warnings.append("\(path)timestamp '\(timeText)' is not a date and time; used "
                        + (wrapperTime == nil ? "the receive time" : "messageDate"))
                }
            }
        }
        let values = fields.filter { !metadataKeys.contains($0.key) }
            .map { "\($0.key)=\($0.value.serialized())" }.joined(separator: ",")
        let time = timeText ?? wrapperText
        return DeviceMessage(
            device: id.uppercased(), vendor: Pressac.vendor, model: fields["deviceType"]?.string, fields: fields,
            measurements: measurements, measuredAt: measuredAt,
            dedupeKey: time.map { "\(id.uppercased())|\($0)|\(values)" } ?? "", warnings: warnings)
    }

    /// `"false"` → false, `"-53"` → -53, `{"value":2.58,"unit":"V"}` → 2.58; other values as they are.
    static func typedValue(_ value: JSON) -> JSON {
        if let inner = value.object, let wrapped = inner["value"] { return typedValue(wrapped) }
        guard let text = value.string else { return value }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: return Double(text.trimmingSpaces).map(JSON.number) ?? value
        }
    }
}
