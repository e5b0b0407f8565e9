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
        nextReadingID - 1
    }

    /// Up to `limit` readings after `id`, oldest first: the v1–v3 table's rows first (all their
    /// ids are lower), then packed rows, starting inside the row that holds `id + 1`.
    public func readings(after id: Int64, limit: Int) throws(StoreError) -> [StoredReading] {
        guard limit > 0 else { return [] }
        var out: [StoredReading] = []
        if legacyReadings {
            out = try db.query(
                "SELECT id, \(Self.readingColumns) FROM readings WHERE id > ? ORDER BY id LIMIT ?",
                [.integer(id), .integer(Int64(limit))]
            ).compactMap { row in
                guard let rowID = row.int64(0), let reading = Self.legacyReading(row, from: 1) else { return nil }
                return StoredReading(id: rowID, reading: reading)
            }
            if out.count >= limit { return out }
        }
        // A row holds at most `maxPerRow` readings, so the one holding `id + 1` starts no further back.
        let rows = try db.query(
            "SELECT \(Self.packedColumns) FROM samples WHERE id > ? ORDER BY id LIMIT ?",
            [.integer(id - Int64(SamplePacking.maxPerRow)), .integer(Int64(limit + SamplePacking.maxPerRow))])
        for row in rows {
            guard let packed = Self.packedRow(row) else { continue }
            for stored in readings(of: packed) where stored.id > id {
                out.append(stored)
                if out.count >= limit { return out }
            }
        }
        return out
    }

    /// How many readings wait after `id`.
    public func backlog(after id: Int64) throws(StoreError) -> Int {
        var total = 0
        if legacyReadings {
            total = try db.queryOne("SELECT count(*) FROM readings WHERE id > ?", [.integer(id)])?.int(0) ?? 0
        }
        let packed = try db.queryOne(
            "SELECT coalesce(sum(min(count, id + count - 1 - ?)), 0) FROM samples WHERE id + count - 1 > ? AND id > ?",
            [.integer(id), .integer(id), .integer(id - Int64(SamplePacking.maxPerRow))])?.int(0) ?? 0
        return total + packed
    }
}
