import FleetJSON

extension SensorIngest {
    /// Decodes one payload for `fleet-controller decode`.
    ///
    /// - Parameter normalized: false prints the vendor decoder's object (its field names, units
    ///   and enum strings); true prints `{"readings":[{"kind","value","unit"[,"timestamp"]}],
    ///   "warnings":[…]}` as ingest would store them.
    /// - Parameter lines: the VS133 / VS135 counting lines a claim would list: the readings are
    ///   then the summed period in/out of those lines (``CountedLines/select(_:lines:)``), as a
    ///   claim with `lines` stores an uplink that has no running totals to compare with yet. Nil
    ///   is line 1, as a claim without lines.
    /// - Parameter onWarning: receives each warning when `normalized` is false: the vendor's object
    ///   has no place for them, and an installer should still learn that part of the payload was
    ///   not understood.
    /// - Throws: ``DecodeError`` for an unknown vendor or model, an undecodable payload, or
    ///   `lines` without `normalized` or that a claim of the model could not list (the CLI exits 2
    ///   with its description).
    public static func decodeForCLI(
        vendor: String, model: String, fPort: Int = Milesight.defaultFPort, payload: [UInt8], normalized: Bool,
        lines: [Int]? = nil, registry: DecoderRegistry = .standard, onWarning: (String) -> Void = { _ in }
    ) throws(DecodeError) -> JSON {
        if lines != nil, !normalized {
            throw DecodeError(
                .invalidField, field: "lines",
                reason: "lines only change the normalized readings; the vendor's fields show every line already")
        }
        let counted = try CountedLines.validate(lines, model: model)
        var decoded = try registry.decode(vendor: vendor, model: model, fPort: fPort, payload: payload)
        if let counted { decoded = CountedLines.select(decoded, lines: counted) }
        guard normalized else {
            decoded.warnings.forEach(onWarning)
            return .object(decoded.fields)
        }
        let readings: [JSON] = decoded.measurements.map { sample in
            var object: JSONObject = [
                "kind": .string(sample.kind.rawValue), "value": .number(sample.value), "unit": .string(sample.unit),
            ]
            if let timestamp = sample.timestamp { object["timestamp"] = .number(timestamp) }
            return .object(object)
        }
        return ["readings": .array(readings), "warnings": .array(decoded.warnings.map(JSON.string))]
    }

    /// Reads a payload argument: hex (spaces and a `0x` prefix allowed) or base64.
    ///
    /// Text made only of hex digits is read as hex, even if it would also be valid base64
    /// (`0367EE00` is both); anything else must be base64, padding optional. Nil if it is neither.
    public static func parsePayloadArgument(_ text: String) -> [UInt8]? {
        let trimmed = String(text.filter { !$0.isWhitespace })
        guard !trimmed.isEmpty else { return nil }
        if let bytes = Hex.decode(text) { return bytes }
        return try? Base64.decode(trimmed, requirePadding: false)
    }
}
