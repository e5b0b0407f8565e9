import FleetJSON

/// Typed access to an envelope's JSON object, with errors that name the format and the field
/// path (`rxInfo[0].rssi`, `uplink_message.f_port`), so a dead letter says what to fix.
struct EnvelopeFields {
    let format: String
    let object: JSONObject
    let path: String

    init(format: String, _ object: JSONObject, path: String = "") {
        self.format = format
        self.object = object
        self.path = path
    }

    /// Parses `bytes` as a JSON object.
    static func parse(_ bytes: [UInt8], format: String) throws(DecodeError) -> EnvelopeFields {
        let root = try parseJSON(bytes, format: format)
        guard let object = root.object else {
            throw DecodeError(.invalidField, vendor: format, reason: "the envelope is not a JSON object")
        }
        return EnvelopeFields(format: format, object)
    }

    static func parseJSON(_ bytes: [UInt8], format: String) throws(DecodeError) -> JSON {
        do {
            return try JSON.parse(bytes)
        } catch {
            throw DecodeError(
                .malformedJSON, vendor: format, offset: error.offset, reason: "invalid JSON: \(error.reason)")
        }
    }

    /// The object under `key`, or nil when absent or null.
    func optionalObject(_ key: String) throws(DecodeError) -> EnvelopeFields? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let nested = value.object else { throw invalid(key, "expected an object") }
        return EnvelopeFields(format: format, nested, path: path + key + ".")
    }

    func requiredObject(_ key: String) throws(DecodeError) -> EnvelopeFields {
        guard let nested = try optionalObject(key) else { throw missing(key) }
        return nested
    }

    /// The objects of the array under `key` (empty when absent).
    func objects(_ key: String) throws(DecodeError) -> [EnvelopeFields] {
        guard let value = object[key], !value.isNull else { return [] }
        guard let array = value.array else { throw invalid(key, "not an array") }
        var result: [EnvelopeFields] = []
        for (index, entry) in array.enumerated() {
            guard let nested = entry.object else { throw invalid("\(key)[\(index)]", "not an object") }
            result.append(EnvelopeFields(format: format, nested, path: path + "\(key)[\(index)]."))
        }
        return result
    }

    func string(_ key: String) throws(DecodeError) -> String {
        guard let text = try optionalString(key) else { throw missing(key) }
        return text
    }

    func optionalString(_ key: String) throws(DecodeError) -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let text = value.string else { throw invalid(key, "expected a string") }
        return text
    }

    func optionalNumber(_ key: String) throws(DecodeError) -> Double? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let number = value.double else { throw invalid(key, "expected a number") }
        return number
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(DecodeError) -> Int {
        guard let value = try optionalInteger(key, in: range) else { throw missing(key) }
        return value
    }

    func optionalInteger(_ key: String, in range: ClosedRange<Int>) throws(DecodeError) -> Int? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let integer = value.int else { throw invalid(key, "expected an integer") }
        guard range.contains(integer) else { throw invalid(key, "\(integer) is outside \(range)") }
        return integer
    }

    /// Gateways disagree on whether ids are `"1"` or `1`; both are the same id.
    func stringOrInteger(_ key: String) throws(DecodeError) -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        if let text = value.string { return text }
        if let integer = value.int { return String(integer) }
        throw invalid(key, "expected a string or an integer")
    }

    /// A DevEUI in canonical form.
    func devEUI(_ key: String) throws(DecodeError) -> String {
        guard let devEUI = Uplink.canonicalDevEUI(try string(key)) else { throw invalid(key, "not 16 hex digits") }
        return devEUI
    }

    /// Base64 bytes; an absent key is an empty payload when `absentIsEmpty` (proto3 JSON drops
    /// empty byte strings).
    func base64(_ key: String, absentIsEmpty: Bool) throws(DecodeError) -> [UInt8] {
        guard let text = try optionalString(key) else {
            if absentIsEmpty { return [] }
            throw missing(key)
        }
        do {
            return try Base64.decode(text)
        } catch {
            throw error.attributed(vendor: format).located(in: path + key)
        }
    }

    /// An RFC 3339 time as Unix seconds, or nil when absent.
    func optionalTime(_ key: String) throws(DecodeError) -> Double? {
        guard let text = try optionalString(key) else { return nil }
        do {
            return try RFC3339.parse(text)
        } catch {
            throw error.attributed(vendor: format).located(in: path + key)
        }
    }

    func missing(_ key: String) -> DecodeError {
        DecodeError(.missingField, vendor: format, field: path + key, reason: "missing")
    }

    func invalid(_ key: String, _ reason: String) -> DecodeError {
        DecodeError(.invalidField, vendor: format, field: path + key, reason: reason)
    }
}

extension Uplink {
    /// Takes rssi, snr and gateway from the strongest of several receptions.
    mutating func noteReception(rssi: Double?, snr: Double?, gateway: String?) {
        guard self.rssi == nil || (rssi ?? -.infinity) > self.rssi! else { return }
        self.rssi = rssi
        self.snr = snr
        self.gateway = gateway
    }
}
