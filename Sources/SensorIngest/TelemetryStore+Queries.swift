import FleetStore

extension TelemetryStore {
    /// Whether this uplink was already taken since `since` (Unix seconds).
    public func isDuplicate(_ key: UplinkKey, since: Double = -.infinity) throws(StoreError) -> Bool {
        try db.queryOne(
            "SELECT 1 FROM uplinks_seen WHERE dev_eui = ? AND f_cnt = ? AND payload_hash = ? AND seen_at >= ?",
            [.text(key.devEUI), .integer(Int64(key.fCnt)), .integer(key.payloadHash), .real(since)]) != nil
    }

    /// The highest frame counter per DevEUI in the duplicate filter since `since`.
    public func highestFrameCounters(since: Double) throws(StoreError) -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try db.query(
            "SELECT dev_eui, max(f_cnt) FROM uplinks_seen WHERE seen_at >= ? AND f_cnt >= 0 GROUP BY dev_eui",
            [.real(since)])
        {
            if let device = row.text(0), let fCnt = row.int(1) { out[device] = fCnt }
        }
        return out
    }

    /// Readings matching every given filter, newest first.
    ///
    /// - Parameters:
    ///   - from: earliest `timestamp`, inclusive.
    ///   - to: latest `timestamp`, exclusive, so consecutive windows do not overlap.
    public func series(
        sensor: String? = nil, resource: String? = nil, kind: ReadingKind? = nil, from: Double? = nil,
        to: Double? = nil, limit: Int
    ) throws(StoreError) -> [Reading] {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if let sensor {
            conditions.append("sensor = ?")
            arguments.append(.text(sensor))
        }
        if let resource {
            conditions.append("resource = ?")
            arguments.append(.text(resource))
        }
        if let kind {
            conditions.append("kind = ?")
            arguments.append(.text(kind.rawValue))
        }
        if let from {
            conditions.append("ts >= ?")
            arguments.append(.real(from))
        }
        if let to {
            conditions.append("ts < ?")
            arguments.append(.real(to))
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        arguments.append(.integer(Int64(max(limit, 0))))
        let rows = try db.query(
            "SELECT \(Self.readingColumns) FROM readings\(filter) ORDER BY ts DESC, id DESC LIMIT ?", arguments)
        return rows.compactMap(Self.reading)
    }

    /// The newest reading of each kind from one sensor, ordered by kind: the first of each kind
    /// among the sensor's newest 2000 rows, read backwards along (sensor, ts).
    public func latest(sensor: String) throws(StoreError) -> [Reading] {
        var newest: [ReadingKind: Reading] = [:]
        let rows = try db.query(
            "SELECT \(Self.readingColumns) FROM readings WHERE sensor = ? ORDER BY ts DESC, id DESC LIMIT 2000",
            [.text(sensor)])
        for reading in rows.compactMap(Self.reading) where newest[reading.kind] == nil {
            newest[reading.kind] = reading
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

    private static let readingColumns = "sensor, resource, kind, value, unit, ts, received_at"

    /// A row of `readingColumns`; nil for a kind this build does not know (written by a newer one).
    private static func reading(_ row: Row) -> Reading? {
        guard let kind = row.text(2).flatMap(ReadingKind.init(rawValue:)) else { return nil }
        return Reading(
            sensor: row.text(0) ?? "", resource: row.text(1) ?? "", kind: kind, value: row.double(3) ?? .nan,
            unit: row.text(4) ?? "", timestamp: row.double(5) ?? 0, receivedAt: row.double(6) ?? 0)
    }
}
