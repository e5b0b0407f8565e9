import FleetStore

/// A stored reading with its row id, which orders the export outbox.
public struct StoredReading: Equatable, Sendable {
    public var id: Int64
    public var reading: Reading

    public init(id: Int64, reading: Reading) {
        self.id = id
        self.reading = reading
    }
}

extension TelemetryStore {
    /// The outbox of an export sink is every reading after its cursor: nothing is copied, and
    /// the cursor moves only after the sink confirmed a batch, in the same database as the
    /// readings, so a restart resumes exactly where the last confirmed batch ended.
    public func exportCursor(sink: String) throws(StoreError) -> Int64? {
        try db.queryOne("SELECT last_id FROM export_cursor WHERE sink = ?", [.text(sink)])?.int64(0)
    }

    public func setExportCursor(sink: String, lastID: Int64) throws(StoreError) {
        try db.execute(
            """
            INSERT INTO export_cursor (sink, last_id) VALUES (?, ?)
            ON CONFLICT (sink) DO UPDATE SET last_id = max(last_id, excluded.last_id)
            """,
            [.text(sink), .integer(lastID)])
    }

    /// The newest reading id (0 when there is none): a new sink starts here, not at the
    /// beginning of history.
    public func lastReadingID() throws(StoreError) -> Int64 {
        try db.queryOne("SELECT max(id) FROM readings", [])?.int64(0) ?? 0
    }

    /// Up to `limit` readings after `id`, oldest first.
    public func readings(after id: Int64, limit: Int) throws(StoreError) -> [StoredReading] {
        try db.query(
            """
            SELECT id, sensor, resource, kind, value, unit, ts, received_at FROM readings
            WHERE id > ? ORDER BY id LIMIT ?
            """,
            [.integer(id), .integer(Int64(max(limit, 0)))]
        ).compactMap { row in
            guard let id = row.int64(0), let kind = row.text(3).flatMap(ReadingKind.init(rawValue:)) else { return nil }
            return StoredReading(
                id: id,
                reading: Reading(
                    sensor: row.text(1) ?? "", resource: row.text(2) ?? "", kind: kind, value: row.double(4) ?? .nan,
                    unit: row.text(5) ?? "", timestamp: row.double(6) ?? 0, receivedAt: row.double(7) ?? 0))
        }
    }

    /// How many readings wait after `id`.
    public func backlog(after id: Int64) throws(StoreError) -> Int {
        try db.queryOne("SELECT count(*) FROM readings WHERE id > ?", [.integer(id)])?.int(0) ?? 0
    }
}
