import FleetJSON

/// The JSON a Milesight gateway's embedded network server (UG65/UG67/UG56) publishes per uplink
/// (sensors.md §1.4):
///
///     {"applicationID":"1","devEUI":"24e124136b502217","deviceName":"EM300-TH","fCnt":128,
///      "fPort":85,"data":"A2fqAARoTwUAAA==","time":"2022-12-27T07:21:27.078763Z",
///      "rxInfo":[{"mac":"24e124fffef54092","rssi":-51,"loRaSNR":13.8,…}],"gatewaySN":"…",…}
///
/// Only the fields needed here are read; the rest (txInfo, metadata, gatewayTime, …) is ignored,
/// so firmware that adds fields keeps working. Errors name the field.
enum MilesightGatewayEnvelope {
    static let format = "milesight-gateway"

    static func parse(_ bytes: [UInt8]) throws(DecodeError) -> Uplink {
        let root: JSON
        do {
            root = try JSON.parse(bytes)
        } catch {
            throw DecodeError(
                .malformedJSON, vendor: format, offset: error.offset, reason: "invalid JSON: \(error.reason)")
        }
        guard let object = root.object else {
            throw DecodeError(.invalidField, vendor: format, reason: "the envelope is not a JSON object")
        }
        let fields = Fields(object)

        guard let devEUI = Uplink.canonicalDevEUI(try fields.string("devEUI")) else {
            throw fields.invalid("devEUI", "not 16 hex digits")
        }
        let fPort = try fields.integer("fPort", in: 0...255)
        let fCnt = try fields.optionalInteger("fCnt", in: 0...Int(UInt32.max))
        guard fields.object["data"] != nil else {
            // A gateway with a codec attached sends `object` instead of the raw bytes.
            let hint = fields.object["object"] != nil ? " (the gateway decodes itself: forward raw payloads)" : ""
            throw DecodeError(.missingField, vendor: format, field: "data", reason: "missing" + hint)
        }
        let payload: [UInt8]
        do {
            payload = try Base64.decode(try fields.string("data"))
        } catch {
            throw error.attributed(vendor: format).located(in: "data")
        }
        var receivedAt: Double?
        if let time = try fields.optionalString("time") {
            do {
                receivedAt = try RFC3339.parse(time)
            } catch {
                throw error.attributed(vendor: format).located(in: "time")
            }
        }
        var uplink = Uplink(
            devEUI: devEUI, fPort: fPort, fCnt: fCnt, payload: payload, receivedAt: receivedAt,
            applicationID: try fields.stringOrInteger("applicationID"),
            deviceName: try fields.optionalString("deviceName"))
        try readReception(fields, into: &uplink)
        uplink.gateway = try fields.optionalString("gatewaySN") ?? uplink.gateway
        return uplink
    }

    /// The strongest entry of `rxInfo` gives rssi, snr and (without `gatewaySN`) the gateway.
    private static func readReception(_ fields: Fields, into uplink: inout Uplink) throws(DecodeError) {
        guard let rxInfo = fields.object["rxInfo"] else { return }
        guard let receptions = rxInfo.array else { throw fields.invalid("rxInfo", "not an array") }
        for (index, entry) in receptions.enumerated() {
            guard let reception = entry.object else { throw fields.invalid("rxInfo[\(index)]", "not an object") }
            let inner = Fields(reception, path: "rxInfo[\(index)].")
            let rssi = try inner.optionalNumber("rssi")
            if uplink.rssi == nil || (rssi ?? -.infinity) > uplink.rssi! {
                uplink.rssi = rssi
                uplink.snr = try inner.optionalNumber("loRaSNR")
                uplink.gateway = try inner.optionalString("mac")
            }
        }
    }

    /// Typed access to an envelope object with errors that name the field.
    private struct Fields {
        let object: JSONObject
        let path: String

        init(_ object: JSONObject, path: String = "") {
            self.object = object
            self.path = path
        }

        func string(_ key: String) throws(DecodeError) -> String {
            guard let value = object[key] else { throw missing(key) }
            guard let text = value.string else { throw invalid(key, "expected a string") }
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

        /// Gateways disagree on whether `applicationID` is `"1"` or `1`; both are the same id.
        func stringOrInteger(_ key: String) throws(DecodeError) -> String? {
            guard let value = object[key], !value.isNull else { return nil }
            if let text = value.string { return text }
            if let integer = value.int { return String(integer) }
            throw invalid(key, "expected a string or an integer")
        }

        func missing(_ key: String) -> DecodeError {
            DecodeError(.missingField, vendor: MilesightGatewayEnvelope.format, field: path + key, reason: "missing")
        }

        func invalid(_ key: String, _ reason: String) -> DecodeError {
            DecodeError(.invalidField, vendor: MilesightGatewayEnvelope.format, field: path + key, reason: reason)
        }
    }
}
