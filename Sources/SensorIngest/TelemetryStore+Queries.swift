import FleetStore

extension TelemetryStore {
    /// Whether this uplink was already taken since `since` (Unix seconds).
    ///
    /// LoRaWAN keys are in `seen_log`, which has no index: this scans it (within the dedupe
    /// window, a few tens of thousands of rows normally). The ingest façade asks only for frame
    /// counters at or below a device's highest that are not among its newest keys in memory.
    public func isDuplicate(_ key: UplinkKey, since: Double = -.infinity) throws(StoreError) -> Bool {
        let arguments: [SQLValue] = [.text(key.devEUI), .integer(Int64(key.fCnt)), .integer(key.payloadHash), .real(since)]
        if try db.queryOne(
            "SELECT 1 FROM uplinks_seen WHERE dev_eui = ? AND f_cnt = ? AND payload_hash = ? AND seen_at >= ?",
            arguments) != nil
        {
            return true
        }
        guard key.fCnt >= 0 else { return false }
        return try db.queryOne(
            "SELECT 1 FROM seen_log WHERE device = ? AND f_cnt = ? AND payload_hash = ? AND seen_at >= ? LIMIT 1",
            arguments) != nil
    }

    /// The highest frame counter per DevEUI in the duplicate filter since `since`.
    public func highestFrameCounters(since: Double) throws(StoreError) -> [String: Int] {
        var out: [String: Int] = [:]
        for sql in [
            "SELECT dev_eui, max(f_cnt) FROM uplinks_seen WHERE seen_at >= ? AND f_cnt >= 0 GROUP BY dev_eui",
            "SELECT device, max(f_cnt) FROM seen_log WHERE seen_at >= ? GROUP BY device",
        ] {
            for row in try db.query(sql, [.real(since)]) {
                if let device = row.text(0), let fCnt = row.int(1) { out[device] = max(fCnt, out[device] ?? fCnt) }
            }
        }
        return out
    }

    /// The newest LoRaWAN keys taken since `since`, oldest first, at most `limit`: they seed the
    /// in-memory filter at start.
    public func recentKeys(since: Double, limit: Int) throws(StoreError) -> [TelemetryBatch.Seen] {
        try db.query(
            "SELECT device, f_cnt, payload_hash, seen_at FROM seen_log WHERE seen_at >= ? ORDER BY id DESC LIMIT ?",
            [.real(since), .integer(Int64(max(limit, 0)))]
        ).reversed().map { row in
            TelemetryBatch.Seen(
                key: UplinkKey(devEUI: row.text(0) ?? "", fCnt: row.int(1) ?? 0, payloadHash: row.int64(2) ?? 0),
                at: row.double(3) ?? 0)
        }
    }

    /// The oldest and newest reading timestamps stored, and about how many readings lie between
    /// (from the ids, which only grow); nil when there are none. One statement per end: SQLite
    /// answers a lone `min` or `max` from an index's end without a scan.
    func timestampSpan() throws(StoreError) -> (oldest: Double, newest: Double, readings: Double)? {
        func one(_ sql: String) throws(StoreError) -> Double? { try db.queryOne(sql)?.double(0) }
        var oldest = try one("SELECT min(ts) FROM samples"), newest = try one("SELECT max(ts) FROM samples")
        var readings = try (one("SELECT max(id) FROM samples") ?? 0) - (one("SELECT min(id) FROM samples") ?? 0) + 1
        if legacyReadings {
            if let old = try one("SELECT min(ts) FROM readings") { oldest = min(oldest ?? old, old) }
            if let new = try one("SELECT max(ts) FROM readings") { newest = max(newest ?? new, new) }
            readings += try (one("SELECT max(id) FROM readings") ?? 0) - (one("SELECT min(id) FROM readings") ?? 0) + 1
        }
        guard let oldest, let newest else { return nil }
        return (oldest, newest, readings)
    }

    /// Readings matching every given filter, newest first (by time, then id).
    ///
    /// Served from the time-ordered key: the scan runs newest first over `(ts, series, mask)`,
    /// skipping other sensors and kinds inside the index, and stops after `limit` rows. A query
    /// for one rarely reporting sensor over a long range therefore reads the whole range's index
    /// (about 200k entries per 10 ms); charts over long ranges belong to the rollups.
    ///
    /// - Parameters:
    ///   - from: earliest `timestamp`, inclusive.
    ///   - to: latest `timestamp`, exclusive, so consecutive windows do not overlap.
    public func series(
        sensor: String? = nil, resource: String? = nil, kind: ReadingKind? = nil, from: Double? = nil,
        to: Double? = nil, limit: Int
    ) throws(StoreError) -> [Reading] {
        guard limit > 0 else { return [] }
        var found = try packedSeries(sensor: sensor, resource: resource, kind: kind, from: from, to: to, limit: limit)
        if legacyReadings {
            found += try legacySeries(sensor: sensor, resource: resource, kind: kind, from: from, to: to, limit: limit)
            found.sort { $0.reading.timestamp != $1.reading.timestamp ? $0.reading.timestamp > $1.reading.timestamp : $0.id > $1.id }
        }
        return found.prefix(limit).map(\.reading)
    }

    private func packedSeries(
        sensor: String?, resource: String?, kind: ReadingKind?, from: Double?, to: Double?, limit: Int
    ) throws(StoreError) -> [StoredReading] {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if sensor != nil || resource != nil {
            let ids = seriesIDs.filter { key, _ in
                (sensor == nil || key.sensor == sensor) && (resource == nil || key.resource == resource)
            }.map(\.value)
            guard !ids.isEmpty else { return [] }
            conditions.append("series IN (\(ids.map { _ in "?" }.joined(separator: ",")))")
            arguments += ids.map(SQLValue.integer)
        }
        if let kind {
            guard let mask = kindMask[kind] else { return [] }
            conditions.append("mask & ? != 0")
            arguments.append(.integer(mask))
        }
        let filter = Self.whereClause(&conditions, &arguments, from: from, to: to)
        // Each matching row holds at least one wanted reading, so `limit` rows are enough.
        arguments.append(.integer(Int64(limit)))
        var out: [StoredReading] = []
        for row in try db.query(
            "SELECT \(Self.packedColumns) FROM samples\(filter) ORDER BY ts DESC, id DESC LIMIT ?",
            arguments)
        {
            guard let packed = Self.packedRow(row) else { continue }
            // Newest first within a row too: a later id is a later insert.
            for stored in readings(of: packed).reversed() where kind == nil || stored.reading.kind == kind {
                out.append(stored)
            }
            if out.count >= limit { break }
        }
        return out
    }

    /// The conditions joined into a `WHERE` clause, with `from` (inclusive) and `to` (exclusive)
    /// on `ts` added when given.
    private static func whereClause(
        _ conditions: inout [String], _ arguments: inout [SQLValue], from: Double?, to: Double?
    ) -> String {
        if let from {
            conditions.append("ts >= ?")
            arguments.append(.real(from))
        }
        if let to {
            conditions.append("ts < ?")
            arguments.append(.real(to))
        }
        return conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
    }

    /// The v1–v3 `readings` table, while it still holds rows.
    private func legacySeries(
        sensor: String?, resource: String?, kind: ReadingKind?, from: Double?, to: Double?, limit: Int
    ) throws(StoreError) -> [StoredReading] {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        for (column, value) in [("sensor", sensor), ("resource", resource), ("kind", kind?.rawValue)] {
            guard let value else { continue }
            conditions.append("\(column) = ?")
            arguments.append(.text(value))
        }
        let filter = Self.whereClause(&conditions, &arguments, from: from, to: to)
        arguments.append(.integer(Int64(limit)))
        return try db.query(
            "SELECT id, \(Self.readingColumns) FROM readings\(filter) ORDER BY ts DESC, id DESC LIMIT ?", arguments
        ).compactMap { row in
            guard let id = row.int64(0), let reading = Self.legacyReading(row, from: 1) else { return nil }
            return StoredReading(id: id, reading: reading)
        }
    }

    /// The newest reading of each kind from one sensor, ordered by kind: kept in memory as
    /// readings are stored (and in the `latest` table across restarts).
    public func latest(sensor: String) throws(StoreError) -> [Reading] {
        var newest: [ReadingKind: Reading] = [:]
        for reading in latestReadings[sensor] ?? [] { newest[reading.kind] = reading }
        if legacyReadings {
            let rows = try db.query(
                "SELECT \(Self.readingColumns) FROM readings WHERE sensor = ? ORDER BY ts DESC, id DESC LIMIT 2000",
                [.text(sensor)])
            for reading in rows.compactMap({ Self.legacyReading($0, from: 0) })
            where (newest[reading.kind]?.timestamp ?? -.infinity) < reading.timestamp {
                newest[reading.kind] = reading
            }
        }
        return newest.values.sorted { $0.kind.rawValue < $1.kind.rawValue }
    }

    /// The newest dead letters first.
    public func deadLetters(limit: Int) throws(StoreError) -> [DeadLetter] {
        try db.query(
            "SELECT received_at, topic, device, reason, payload FROM dead_letters ORDER BY id DESC LIMIT ?",
            [.integer(Int64(max(limit, 0)))]
        ).map { row in
            DeadLetter(
                receivedAt: row.double(0) ?? 0, topic: row.text(1) ?? "", device: row.text(2) ?? "",
                reason: row.text(3) ?? "", payload: row.blob(4) ?? [])
        }
    }

    /// Dead letters per device since the database was created (`""` is "device unknown").
    public func deadLetterCounts() throws(StoreError) -> [(device: String, count: Int, lastReason: String)] {
        try db.query("SELECT device, count, last_reason FROM dead_letter_counts ORDER BY count DESC, device", [])
            .map { row in (row.text(0) ?? "", row.int(1) ?? 0, row.text(2) ?? "") }
    }

    /// Devices heard but not claimed, most recently heard first.
    public func discovered() throws(StoreError) -> [DiscoveredDevice] {
        try db.query(
            """
            SELECT dev_eui, first_seen, last_seen, count, last_payload, last_topic, device_name
            FROM discovered_devices ORDER BY last_seen DESC, dev_eui
            """, []
        ).map { row in
            DiscoveredDevice(
                devEUI: row.text(0) ?? "", firstSeen: row.double(1) ?? 0, lastSeen: row.double(2) ?? 0,
                count: row.int(3) ?? 0, lastPayload: row.blob(4) ?? [], lastTopic: row.text(5) ?? "",
                deviceName: row.text(6))
        }
    }

    /// Forgets a discovered device, e.g. once it has been claimed.
    public func forgetDiscovered(devEUI: String) throws(StoreError) {
        try db.execute("DELETE FROM discovered_devices WHERE dev_eui = ?", [.text(devEUI)])
    }

    static let readingColumns = "sensor, resource, kind, value, unit, ts, received_at"

    /// A v1–v3 row of `readingColumns` starting at column `from`; nil for a kind this build does
    /// not know (written by a newer one).
    static func legacyReading(_ row: Row, from c: Int) -> Reading? {
        guard let kind = row.text(c + 2).flatMap(ReadingKind.init(rawValue:)) else { return nil }
        return Reading(
            sensor: row.text(c) ?? "", resource: row.text(c + 1) ?? "", kind: kind, value: row.double(c + 3) ?? .nan,
            unit: row.text(c + 4) ?? "", timestamp: row.double(c + 5) ?? 0, receivedAt: row.double(c + 6) ?? 0)
    }
}
