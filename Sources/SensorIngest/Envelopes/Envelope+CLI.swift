import FleetJSON

extension Envelope {
    /// `fleet-controller decode --vendor pressac|irisys PAYLOAD`: the JSON message as ingest
    /// reads it, one object per report:
    ///
    ///     {"messages":[{"device":"050B4D4F","model":"Under-Desk-Sensor","fields":{…},
    ///                   "readings":[{"kind":"occupancy","value":0,"unit":"state"},…],
    ///                   "measured_at":1668506102,"dedupe_key":"…","warnings":[]},
    ///                  {"device":"V4D-1","presence":"online"}]}
    ///
    /// - Parameters:
    ///   - topic: where the message arrived; Irisys takes the counter id from it
    ///     (default `irisys/<device>/counts`).
    ///   - timeZone: the gateway's zone for Pressac's local timestamps.
    /// - Throws: ``DecodeError`` for an unknown vendor or a message the envelope rejects.
    public static func decodeForCLI(
        vendor: String, payload: [UInt8], topic: String? = nil, timeZone: LocalTimeZone? = nil
    ) throws(DecodeError) -> JSON {
        let format: EnvelopeFormat
        switch vendor.lowercased() {
        case "pressac": format = .pressac
        case "irisys": format = .irisys
        default:
            throw DecodeError(
                .unknownModel, vendor: vendor, reason: "JSON messages are read for pressac and irisys, not '\(vendor)'")
        }
        let messages = try parse(
            format, topic: topic ?? "\(vendor.lowercased())/device/counts", payload: payload,
            options: EnvelopeOptions(localTimeZone: timeZone))
        return ["messages": .array(messages.map(json))]
    }

    private static func json(_ message: IngestMessage) -> JSON {
        switch message {
        case .lorawan(let uplink):
            return ["device": .string(uplink.devEUI), "fPort": .number(Double(uplink.fPort))]
        case .presence(let device, let online, _):
            return ["device": .string(device), "presence": online ? "online" : "offline"]
        case .reading(let report):
            var object: JSONObject = ["device": .string(report.device)]
            if let model = report.model { object["model"] = .string(model) }
            object["fields"] = .object(report.fields)
            object["readings"] = .array(report.measurements.map { sample in
                var reading: JSONObject = [
                    "kind": .string(sample.kind.rawValue), "value": .number(sample.value), "unit": .string(sample.unit),
                ]
                if let timestamp = sample.timestamp { reading["timestamp"] = .number(timestamp) }
                return .object(reading)
            })
            object["measured_at"] = report.measuredAt.map(JSON.number) ?? .null
            object["dedupe_key"] = .string(report.dedupeKey)
            object["warnings"] = .array(report.warnings.map(JSON.string))
            return .object(object)
        }
    }
}
