import FleetStore

/// The last running people totals per sensor and line (see ``CounterTotals``).
extension TelemetryStore {
    /// Appended to ``migrations``; never edited once released.
    static let counterTotalsMigration = Migration(
        "telemetry-v5",
        """
            -- The last running in/out totals per sensor and counted line, so that the first uplink
            -- after a restart yields the crossings since the last one rather than a baseline.
            CREATE TABLE counter_totals (
                sensor TEXT NOT NULL,
                line TEXT NOT NULL,
                total_in REAL NOT NULL,
                total_out REAL NOT NULL,
                at REAL NOT NULL,
                PRIMARY KEY (sensor, line)
            ) WITHOUT ROWID;
            """)

    /// The row that holds a line's period counts passed on since its last total: an in/out pair
    /// like the total's own row, so it lives in the same table under `<line>/counted`.
    static let countedSuffix = "/counted"

    /// Every stored total, with what was counted since.
    public func counterTotals() throws(StoreError) -> [CounterTotals.Total] {
        var totals: [String: CounterTotals.Total] = [:]
        var counted: [String: (in: Double, out: Double)] = [:]
        for row in try db.query("SELECT sensor, line, total_in, total_out, at FROM counter_totals", []) {
            let sensor = row.text(0) ?? ""
            let line = row.text(1) ?? ""
            let pair = (row.double(2) ?? 0, row.double(3) ?? 0)
            if line.hasSuffix(Self.countedSuffix) {
                counted[sensor + "|" + line.dropLast(Self.countedSuffix.count)] = pair
            } else {
                totals[sensor + "|" + line] = CounterTotals.Total(
                    sensor: sensor, line: line, totalIn: pair.0, totalOut: pair.1, at: row.double(4) ?? 0)
            }
        }
        for (key, pair) in counted where totals[key] != nil {
            totals[key]?.countedIn = pair.in
            totals[key]?.countedOut = pair.out
        }
        return totals.values.sorted { ($0.sensor, $0.line) < ($1.sensor, $1.line) }
    }

    /// Deletes `sensor`'s totals of lines not in `keeping` (with what was counted since).
    public func forgetCounterTotals(sensor: String, keeping names: Set<String>) throws(StoreError) {
        let kept = names.sorted().flatMap { [$0, $0 + Self.countedSuffix] }
        let placeholders = Array(repeating: "?", count: kept.count).joined(separator: ", ")
        try db.execute(
            "DELETE FROM counter_totals WHERE sensor = ?" + (kept.isEmpty ? "" : " AND line NOT IN (\(placeholders))"),
            [.text(sensor)] + kept.map { .text($0) })
    }

    /// Writes `batch` and `totals` in one transaction: a difference is never stored without the
    /// total it came from (a restart would count it again), nor the total without the difference.
    public func commit(_ batch: TelemetryBatch, totals: [CounterTotals.Total]) throws(StoreError) {
        guard !totals.isEmpty else { return try commit(batch) }
        do {
            try db.transaction {
                for total in totals {
                    for (line, pair) in [
                        (total.line, (total.totalIn, total.totalOut)),
                        (total.line + Self.countedSuffix, (total.countedIn, total.countedOut)),
                    ] {
                        try db.execute(
                            """
                            INSERT INTO counter_totals (sensor, line, total_in, total_out, at) VALUES (?, ?, ?, ?, ?)
                            ON CONFLICT (sensor, line) DO UPDATE SET total_in = excluded.total_in,
                                total_out = excluded.total_out, at = excluded.at
                            """,
                            [.text(total.sensor), .text(line), .real(pair.0), .real(pair.1), .real(total.at)])
                    }
                }
                try commit(batch)  // nested: a savepoint inside this transaction
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(resultCode: 1 /* SQLITE_ERROR */, message: "\(error)", operation: "commit totals", path: db.path)
        }
    }
}
