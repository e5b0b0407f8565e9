import FleetJSON

/// Irisys Vector 4D people counters over MQTT (sensors.md §3, spec v3). Topics are configured on
/// the counter; the counter's id is taken from the topic segment before the last, so configure
/// the Count topic as `…/<serial>/counts` and the Status topic as `…/<serial>/status`.
///
/// - Counts: a JSON array of register changes, `[{"register":"MainEntranceIn","value":1,
///   "t":"2019-02-91T12:30:00+0000"},…]`. Each (register, t) becomes one ``DeviceMessage`` with
///   duplicate key device + register + t, so a retained or replayed count is stored once; changes
///   of one register with the same `t` in one message are summed first. A count without `t` has
///   no key (it cannot be told from the next one) and is never a duplicate. An empty array is the
///   counter's heartbeat → `.presence(online: true)`.
/// - Status: `{"status":"connected"}`, and `{"status":"disconnected"}` as the counter's Last Will.
///
/// Registers are named by the installer. A register whose name ends in the word In/Enter/Entry
/// becomes `people_in`, Out/Exit `people_out` (`MainEntranceIn`, `Line 1 Out`, `Exit`); others
/// stay fields. `t` is parsed leniently: the spec's own example (`2019-02-91…`, `+0000`) is not a
/// date, so an unreadable `t` means "receive time" rather than a rejected count.
enum IrisysEnvelope {
    static let format = EnvelopeFormat.irisys.rawValue
    static let vendor = "irisys"

    static func parse(topic: String, _ bytes: [UInt8]) throws(DecodeError) -> [IngestMessage] {
        let segments = topic.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count >= 2, !segments[segments.count - 2].isEmpty else {
            throw DecodeError(
                .invalidField, vendor: format, field: "topic",
                reason: "'\(topic)' has no counter id: configure the counter's topics as …/<serial>/counts and …/<serial>/status")
        }
        let device = String(segments[segments.count - 2])
        let root = try EnvelopeFields.parseJSON(bytes, format: format)
        if let events = root.array { return try counts(events, device: device) }
        guard let object = root.object, let status = object["status"] else {
            throw DecodeError(
                .invalidField, vendor: format,
                reason: "neither a counts array nor a status object (live counts, targets and device info are not read)")
        }
        switch status.string {
        case "connected": return [.presence(device: device, online: true, at: nil)]
        case "disconnected": return [.presence(device: device, online: false, at: nil)]
        default:
            throw DecodeError(.invalidField, vendor: format, field: "status", reason: "expected \"connected\" or \"disconnected\"")
        }
    }

    private static func counts(_ events: [JSON], device: String) throws(DecodeError) -> [IngestMessage] {
        guard !events.isEmpty else { return [.presence(device: device, online: true, at: nil)] }
        var order: [String] = []
        var sums: [String: (register: String, time: String?, value: Double)] = [:]
        for (index, event) in events.enumerated() {
            guard let object = event.object else {
                throw DecodeError(.invalidField, vendor: format, field: "[\(index)]", reason: "not an object")
            }
            let fields = EnvelopeFields(format: format, object, path: "[\(index)].")
            let register = try fields.string("register")
            guard let value = try fields.optionalNumber("value") else { throw fields.missing("value") }
            let time = try fields.optionalString("t")
            let key = register + "|" + (time ?? "")
            if sums[key] == nil { order.append(key) }
            sums[key, default: (register, time, 0)].value += value
        }
        return order.map { key in
            let (register, time, value) = sums[key]!
            let measuredAt = time.flatMap { try? RFC3339.parse($0) }
            let warnings = time != nil && measuredAt == nil ? ["t '\(time!)' is not a date and time; used the receive time"] : []
            var fields: JSONObject = ["register": .string(register), "value": .number(value)]
            if let time { fields["t"] = .string(time) }
            let measurements = direction(of: register).map {
                [Measurement(kind: $0, value: value, unit: ReadingUnit.people)]
            } ?? []
            return .reading(DeviceMessage(
                device: device, vendor: vendor, fields: fields, measurements: measurements, measuredAt: measuredAt,
                dedupeKey: time.map { "\(device)|\(register)|\($0)" } ?? "", warnings: warnings))
        }
    }

    /// `people_in` or `people_out` from the register name's last word.
    static func direction(of register: String) -> ReadingKind? {
        var words: [String] = []
        var current = ""
        var previous: Character?
        for character in register {
            let boundary = !character.isLetter || (character.isUppercase && previous?.isLowercase == true)
            if boundary, !current.isEmpty {
                words.append(current)
                current = ""
            }
            if character.isLetter { current.append(character) }
            previous = character
        }
        if !current.isEmpty { words.append(current) }
        switch words.last?.lowercased() {
        case "in", "ins", "enter", "entry", "entries", "entered": return .peopleIn
        case "out", "outs", "exit", "exits", "exited": return .peopleOut
        default: return nil
        }
    }
}
