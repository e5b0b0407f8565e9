import FleetJSON

/// Which counting lines of a VS133 / VS135 feed its resource's people counts.
///
/// The device counts up to four lines (sensors.md §1.2) and the decoder turns only line 1's
/// period counts into `people_in` / `people_out`: one door per room by convention, because a
/// person who crosses two lines on one walk would count twice. A room with two doors has a line
/// at each, and the installer lists them in the claim (`lines = [1, 2]`): the listed lines' in and
/// out are summed into the uplink's readings, and each listed line's running totals are turned
/// into deltas on their own (``CounterTotals``). Lines that only watch a corridor stay fields.
///
/// Pure rules: which claims may list lines, and an uplink's readings rebuilt from the vendor
/// fields of the listed lines.
public enum CountedLines {
    /// Models whose claims may list lines: the only ones with numbered counting lines.
    public static let models: Set<String> = ["VS133", "VS135"]
    /// What a claim without `lines` counts.
    public static let standard = [1]
    /// The line numbers a VS133 / VS135 has.
    public static let available = 1...4

    /// Whether claims of `model` (canonical or any case) may list lines.
    public static func applies(to model: String) -> Bool { models.contains(model.uppercased()) }

    /// A claim's `lines` checked against its model: nil stays nil (line 1), a list comes back
    /// sorted without repeats.
    ///
    /// - Throws: ``DecodeError`` `.invalidField` on `lines` for an empty list, a number outside
    ///   1…4, or any list on a model that has no numbered lines.
    public static func validate(_ lines: [Int]?, model: String) throws(DecodeError) -> [Int]? {
        guard let lines else { return nil }
        guard applies(to: model) else {
            throw DecodeError(
                .invalidField, field: "lines",
                reason: "only a VS133 or VS135 has counting lines to choose; a \(model) counts as it is, "
                    + "so claim it without lines")
        }
        guard !lines.isEmpty else {
            throw DecodeError(.invalidField, field: "lines", reason: "an empty list counts no one; list lines 1 to 4, e.g. [1, 2]")
        }
        if let bad = lines.first(where: { !available.contains($0) }) {
            throw DecodeError(
                .invalidField, field: "lines",
                reason: "line \(bad) does not exist; a \(model.uppercased()) counts lines 1 to 4")
        }
        return Array(Set(lines)).sorted()
    }

    /// The period counts of one line in an uplink: the live frame, and each history record of it.
    struct Periods {
        var liveIn: Double?
        var liveOut: Double?
        var history: [(at: Double, peopleIn: Double?, peopleOut: Double?)] = []

        var sumIn: Double { (liveIn ?? 0) + history.reduce(0) { $0 + ($1.peopleIn ?? 0) } }
        var sumOut: Double { (liveOut ?? 0) + history.reduce(0) { $0 + ($1.peopleOut ?? 0) } }
    }

    /// Line `line`'s period counts from the vendor fields (`line_N_period_in/out`, live and in
    /// `history` records, which carry their own `timestamp`).
    static func periods(_ decoded: DecodedUplink, line: Int) -> Periods {
        let inName = "line_\(line)_period_in"
        let outName = "line_\(line)_period_out"
        var periods = Periods(liveIn: count(decoded.fields[inName]), liveOut: count(decoded.fields[outName]))
        for record in decoded.fields["history"]?.array ?? [] {
            guard let at = record["timestamp"]?.double else { continue }
            let peopleIn = count(record[inName])
            let peopleOut = count(record[outName])
            if peopleIn != nil || peopleOut != nil { periods.history.append((at, peopleIn, peopleOut)) }
        }
        return periods
    }

    private static func count(_ value: JSON?) -> Double? {
        guard let number = value?.double, number.isFinite else { return nil }
        return max(number, 0)
    }

    /// The uplink with its people readings the sum of the listed lines' period counts: one live
    /// `people_in` / `people_out` pair, and one pair per history timestamp. Vendor fields stay as
    /// decoded. Line 1 alone is what the decoder made already.
    public static func select(_ decoded: DecodedUplink, lines: [Int]) -> DecodedUplink {
        guard lines != standard else { return decoded }
        var out = decoded
        out.measurements.removeAll { $0.kind == .peopleIn || $0.kind == .peopleOut }
        out.measurements += measurements(lines.map { periods(decoded, line: $0) })
        return out
    }

    /// Readings for the summed period counts of several lines, plus `extra` crossings (deltas of
    /// running totals) on the live pair. A kind appears only when some line reported it.
    static func measurements(_ parts: [Periods], extraIn: Double? = nil, extraOut: Double? = nil) -> [Measurement] {
        var result: [Measurement] = []
        let liveIns = parts.compactMap(\.liveIn) + (extraIn.map { [$0] } ?? [])
        let liveOuts = parts.compactMap(\.liveOut) + (extraOut.map { [$0] } ?? [])
        if !liveIns.isEmpty {
            result.append(Measurement(kind: .peopleIn, value: liveIns.reduce(0, +), unit: ReadingUnit.people))
        }
        if !liveOuts.isEmpty {
            result.append(Measurement(kind: .peopleOut, value: liveOuts.reduce(0, +), unit: ReadingUnit.people))
        }
        // Records of several lines at one time are one reading per kind, as a live uplink's are.
        var byTime: [Double: (peopleIn: Double?, peopleOut: Double?)] = [:]
        for record in parts.flatMap(\.history) {
            var sums = byTime[record.at] ?? (nil, nil)
            if let value = record.peopleIn { sums.peopleIn = (sums.peopleIn ?? 0) + value }
            if let value = record.peopleOut { sums.peopleOut = (sums.peopleOut ?? 0) + value }
            byTime[record.at] = sums
        }
        for (at, sums) in byTime.sorted(by: { $0.key < $1.key }) {
            if let value = sums.peopleIn {
                result.append(Measurement(kind: .peopleIn, value: value, unit: ReadingUnit.people, timestamp: at))
            }
            if let value = sums.peopleOut {
                result.append(Measurement(kind: .peopleOut, value: value, unit: ReadingUnit.people, timestamp: at))
            }
        }
        return result
    }
}
