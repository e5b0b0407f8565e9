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

    /// Every stored total.
    public func counterTotals() throws(StoreError) -> [CounterTotals.Total] {
        try db.query("SELECT sensor, line, total_in, total_out, at FROM counter_totals ORDER BY sensor, line", []).map {
            CounterTotals.Total(
                sensor: $0.text(0) ?? "", line: $0.text(1) ?? "", totalIn: $0.double(2) ?? 0, totalOut: $0.double(3) ?? 0,
                at: $0.double(4) ?? 0)
        }
    }

    /// Writes `batch` and `totals` in one transaction: a difference is never stored without the
    /// total it came from (a restart would count it again), nor the total without the difference.
    public func commit(_ batch: TelemetryBatch, totals: [CounterTotals.Total]) throws(StoreError) {
        guard !totals.isEmpty else { return try commit(batch) }
        do {
            try db.transaction {
                for total in totals {
                    try db.execute(
                        """
                        INSERT INTO counter_totals (sensor, line, total_in, total_out, at) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (sensor, line) DO UPDATE SET total_in = excluded.total_in,
                            total_out = excluded.total_out, at = excluded.at
                        """,
                        [.text(total.sensor), .text(total.line), .real(total.totalIn), .real(total.totalOut), .real(total.at)])
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
