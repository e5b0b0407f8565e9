import FleetJSON
import FleetStore

/// Running people totals turned into per-uplink deltas, so the occupancy tracker and analytics
/// see one kind of `people_in` / `people_out`: the crossings since the sensor's previous report.
///
/// Which devices report what (sensors.md §1.2, §3.2):
/// - VS133 / VS135 send `line_N_total_in/out` (u32, cumulative) and `line_N_period_in/out`
///   (u16, since the last periodic report); VS132 `total_counter_*` (u32) and `periodic_counter_*`;
///   VS350 / VS351 `total_in/out` (u16) and `period_in/out`; VS121 `people_total_in/out` (u16)
///   and the period `people_in/out`.
/// - Irisys count registers are already deltas; VS340 / VS341 report a seat state, not counts.
///
/// Totals win over period counts when both are known: a lost uplink loses its period counts for
/// good, while the next total still contains them. Period counts still count at once, so a room
/// shows a crossing without waiting for the next total. So, per sensor and counted line:
/// - no earlier total (first uplink ever, after a claim, or after a gap longer than ``maxGap``):
///   the total becomes the baseline and nothing is derived from it — the device's lifetime count
///   is not people in the room now; that uplink's period counts are used as they are;
/// - an uplink without totals after a total within ``maxGap``: its period counts are used and
///   added up as already counted;
/// - an uplink with totals after a total within ``maxGap``: its `people_in` / `people_out` are the
///   difference minus what period counts passed on since (never below zero), and its own period
///   counts are dropped, so nobody is counted twice and a lost period uplink is made up for;
/// - a total lower than the last one is a wrap (u16 / u32 overflow, when the last was in the top
///   quarter and the new one in the bottom quarter) or else a counter restart (power cycle,
///   reset command), after which the new total is what the device counted since the restart;
/// - a report older than the last total (a gateway replaying after an outage) changes nothing.
///
/// Each counted line is kept on its own: a VS133 / VS135 counts line 1 (the room's door by
/// convention, see `Milesight+VSSeries.swift`) or the lines its claim lists (``CountedLines``),
/// each with its own baseline, and the uplink's people counts are the sum over those lines. A
/// line added to a claim later starts with a baseline like a new sensor, and a line dropped from
/// it is forgotten. The last totals are kept in `telemetry.sqlite` (`counter_totals`, a row per
/// sensor and line), written in the same transaction as the readings derived from them, so a
/// restart neither repeats a difference nor loses the baseline (nor forgets what period counts
/// passed on since). Pure bookkeeping.
public struct CounterTotals {
    /// Where a model's running totals are in its decoded fields.
    public struct Line: Sendable {
        /// The key under which the last totals are stored (`line_1`).
        public var name: String
        public var totalIn: String
        public var totalOut: String
        /// 2^16 or 2^32: the value after which the device's counter wraps to zero.
        public var modulus: Double
        /// A VS133 / VS135 line's number: its period counts are its own fields
        /// (`line_N_period_in/out`). Nil for a model's only line, whose period counts are the
        /// uplink's people readings.
        public var number: Int? = nil
    }

    /// The last totals of one sensor's line, the uplink time they came with, and the period
    /// counts passed on since (which the next difference already contains).
    public struct Total: Equatable, Sendable {
        public var sensor: String
        public var line: String
        public var totalIn: Double
        public var totalOut: Double
        public var at: Double
        public var countedIn: Double
        public var countedOut: Double

        public init(
            sensor: String, line: String, totalIn: Double, totalOut: Double, at: Double, countedIn: Double = 0,
            countedOut: Double = 0
        ) {
            self.sensor = sensor
            self.line = line
            self.totalIn = totalIn
            self.totalOut = totalOut
            self.at = at
            self.countedIn = countedIn
            self.countedOut = countedOut
        }
    }

    struct Key: Hashable {
        var sensor: String
        var line: String
    }

    /// Beyond this the last total is too old to say when its difference happened (the device
    /// or the gateway was away): the new total starts a new baseline instead.
    public static let maxGap: Double = 6 * 3600

    /// Models reporting running totals, by canonical model name.
    public static let lines: [String: [Line]] = {
        let u16 = 65_536.0
        let u32 = 4_294_967_296.0
        let vs13x = [vs13xLine(1)]
        let vs35x = [Line(name: "line", totalIn: "total_in", totalOut: "total_out", modulus: u16)]
        return [
            "VS121": [Line(name: "line", totalIn: "people_total_in", totalOut: "people_total_out", modulus: u16)],
            "VS132": [Line(name: "line", totalIn: "total_counter_in", totalOut: "total_counter_out", modulus: u32)],
            "VS133": vs13x, "VS135": vs13x, "VS350": vs35x, "VS351": vs35x,
        ]
    }()

    private var last: [Key: Total] = [:]
    /// Lines changed since ``saved()``: written with the next batch.
    private var changed: Set<Key> = []

    public init(restoring saved: [Total] = []) {
        for total in saved { last[Key(sensor: total.sensor, line: total.line)] = total }
    }

    /// Whether `model` reports running totals.
    public static func counts(_ model: String) -> Bool { lines[model.uppercased()] != nil }

    /// The uplink with its people counts replaced as the type describes; `time` is the uplink's
    /// measurement time (the network's receive time). `counted` are the VS133 / VS135 lines the
    /// claim lists (see ``CountedLines``): their period counts are summed, and each line's totals
    /// are its own baseline; other models have one line and ignore it.
    public mutating func apply(
        _ decoded: DecodedUplink, sensor: String, model: String, lines counted: [Int] = CountedLines.standard,
        at time: Double
    ) -> DecodedUplink {
        guard let lines = Self.lines(model: model, counted: counted) else { return decoded }
        let numbered = lines.first?.number != nil
        let decoded = numbered ? CountedLines.select(decoded, lines: counted) : decoded
        // A line with a number has its own period counts; a model's only line has the uplink's.
        let uplinkIn = decoded.measurements.filter { $0.kind == .peopleIn }.reduce(0) { $0 + max($1.value, 0) }
        let uplinkOut = decoded.measurements.filter { $0.kind == .peopleOut }.reduce(0) { $0 + max($1.value, 0) }
        var kept: [CountedLines.Periods] = []
        var derivedIn: [Double] = []
        var derivedOut: [Double] = []
        var dropPeriods = false
        for line in lines {
            let key = Key(sensor: sensor, line: line.name)
            let previous = last[key]
            let fresh = previous.map { time >= $0.at && time - $0.at <= Self.maxGap } ?? false
            let periods = line.number.map { CountedLines.periods(decoded, line: $0) }
            let periodIn = periods?.sumIn ?? uplinkIn
            let periodOut = periods?.sumOut ?? uplinkOut
            guard let totalIn = decoded.fields[line.totalIn]?.double, let totalOut = decoded.fields[line.totalOut]?.double
            else {
                // Counted now; the next total's difference contains them, so they are noted.
                if fresh, var total = previous, periodIn + periodOut > 0 {
                    total.countedIn += periodIn
                    total.countedOut += periodOut
                    last[key] = total
                    changed.insert(key)
                }
                if let periods { kept.append(periods) }
                continue
            }
            if let previous, time < previous.at {
                dropPeriods = true  // a replay from before the last total: already in it
                continue
            }
            if let previous, fresh {
                dropPeriods = true
                let crossedIn = Self.delta(from: previous.totalIn, to: totalIn, modulus: line.modulus)
                let crossedOut = Self.delta(from: previous.totalOut, to: totalOut, modulus: line.modulus)
                derivedIn.append(max(0, crossedIn - previous.countedIn))
                derivedOut.append(max(0, crossedOut - previous.countedOut))
            } else if let periods {
                kept.append(periods)  // a baseline: this line's period counts stand
            }
            last[key] = Total(sensor: sensor, line: line.name, totalIn: totalIn, totalOut: totalOut, at: time)
            changed.insert(key)
        }
        guard dropPeriods else { return decoded }
        var out = decoded
        out.measurements.removeAll { $0.kind == .peopleIn || $0.kind == .peopleOut }
        let sumIn = derivedIn.isEmpty ? nil : derivedIn.reduce(0, +)
        let sumOut = derivedOut.isEmpty ? nil : derivedOut.reduce(0, +)
        out.measurements += CountedLines.measurements(kept, extraIn: sumIn, extraOut: sumOut)
        return out
    }

    /// The lines counted for a claim of `model`: the listed VS133 / VS135 lines, else the model's.
    static func lines(model: String, counted: [Int]) -> [Line]? {
        let canonical = model.uppercased()
        guard CountedLines.applies(to: canonical) else { return lines[canonical] }
        return (counted.isEmpty ? CountedLines.standard : counted).map(vs13xLine)
    }

    private static func vs13xLine(_ number: Int) -> Line {
        Line(name: "line_\(number)", totalIn: "line_\(number)_total_in", totalOut: "line_\(number)_total_out",
             modulus: 4_294_967_296.0, number: number)
    }

    /// Crossings between two readings of a running total.
    public static func delta(from last: Double, to new: Double, modulus: Double) -> Double {
        if new >= last { return new - last }
        if last >= modulus * 0.75 && new < modulus * 0.25 { return new + modulus - last }  // wrapped
        return new  // restarted from zero: what it counted since
    }

    /// The totals changed since the last ``saved()``, sorted, for the store.
    public var unsaved: [Total] {
        changed.compactMap { last[$0] }.sorted { ($0.sensor, $0.line) < ($1.sensor, $1.line) }
    }

    /// Marks everything as written.
    public mutating func saved() { changed.removeAll(keepingCapacity: true) }

    /// Forgets `sensor`'s lines other than `keeping` (line names), so a line listed again later
    /// starts from a baseline instead of counting everyone who crossed it meanwhile.
    public mutating func forget(sensor: String, keeping names: Set<String>) {
        for key in last.keys where key.sensor == sensor && !names.contains(key.line) {
            last.removeValue(forKey: key)
            changed.remove(key)
        }
    }

    /// The last totals of a sensor's line, if any.
    public func total(sensor: String, line: String) -> Total? { last[Key(sensor: sensor, line: line)] }
}

extension SensorIngest {
    /// The uplink's people counts as deltas (see ``CounterTotals``). The last totals are read
    /// from the store on first use, so models without totals never touch the table.
    func countingTotals(
        _ decoded: DecodedUplink, sensor: String, model: String, lines: [Int]?, at time: Double
    ) -> DecodedUplink {
        guard CounterTotals.counts(model) else { return decoded }
        if counterTotals == nil {
            do {
                counterTotals = CounterTotals(restoring: try store.counterTotals())
            } catch {
                // Without the stored baselines the next totals start new ones: no one is invented.
                logOnce(key: "store|counterTotals", level: .warning, "cannot read stored people totals: \(error)", metadata: [:])
                counterTotals = CounterTotals()
            }
        }
        return counterTotals!.apply(decoded, sensor: sensor, model: model, lines: lines ?? CountedLines.standard, at: time)
    }

    /// A claim's lines decide which stored totals still count: those of lines it no longer lists
    /// are forgotten here and in the store (see ``CounterTotals/forget(sensor:keeping:)``).
    func forgetUncountedLines(_ sensor: Sensor) {
        guard let lines = CounterTotals.lines(model: sensor.model, counted: sensor.lines ?? CountedLines.standard) else {
            return
        }
        let names = Set(lines.map(\.name))
        counterTotals?.forget(sensor: sensor.devEUI, keeping: names)
        do {
            try store.forgetCounterTotals(sensor: sensor.devEUI, keeping: names)
        } catch {
            // Kept totals older than six hours start a new baseline anyway.
            logOnce(key: "store|forgetCounterTotals", level: .warning,
                    "cannot forget the totals of lines no longer counted: \(error)", metadata: ["device": "\(sensor.devEUI)"])
        }
    }

    /// Commits a batch together with the people totals its deltas came from.
    func commitCounting(_ batch: TelemetryBatch) throws(StoreError) {
        let totals = counterTotals?.unsaved ?? []
        try store.commit(batch, totals: totals)
        if !totals.isEmpty { counterTotals?.saved() }
    }
}
