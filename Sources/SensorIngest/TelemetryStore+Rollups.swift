import FleetJSON
import FleetStore

/// A rollup bucket width; the raw values are the API's `bucket=` values.
public enum RollupBucket: String, CaseIterable, Sendable {
    case quarterHour = "15m"
    case hour = "1h"

    public var seconds: Int { self == .quarterHour ? 900 : 3600 }

    /// The bucket's start for a timestamp.
    public func start(of time: Double) -> Double {
        let width = Double(seconds)
        return (time / width).rounded(.down) * width
    }
}

/// One rollup row: what the readings of one sensor and kind did within one bucket.
public struct Rollup: Equatable, Sendable {
    public var sensor: String
    public var resource: String
    public var kind: String
    public var unit: String
    public var bucket: RollupBucket
    public var start: Double
    public var count: Int
    public var min: Double
    public var max: Double
    public var sum: Double
    public var last: Double
    public var lastTimestamp: Double

    public var average: Double { count > 0 ? sum / Double(count) : .nan }
}

/// Rollup increments not yet written: readings are merged here as they are stored, and the
/// deltas go to the database every few seconds, so a flood costs one upsert per sensor, kind and
/// bucket per write rather than per reading.
///
/// Grouped by sensor and bucket: an uplink's readings share both, so merging it costs one hash
/// lookup per bucket width and a short scan over its kinds, where one lookup per reading and
/// bucket (16 per AM307 uplink) was a tenth of the ingest profile.
public struct RollupDeltas: Sendable {
    struct GroupKey: Hashable, Sendable {
        var sensor: SensorName
        var bucket: Int
        var start: Double
    }

    /// A sensor id with its hash computed once per run of readings.
    struct SensorName: Hashable, Sendable {
        let name: String
        let hash: Int

        init(_ name: String) {
            self.name = name
            hash = name.hashValue
        }

        static func == (a: SensorName, b: SensorName) -> Bool { a.hash == b.hash && a.name == b.name }
        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    }

    /// Each group's rollups have distinct kinds.
    var groups: [GroupKey: [Rollup]] = [:]
    /// Rollups over all groups.
    public private(set) var count = 0

    public init() {}

    public init(_ readings: [Reading]) { merge(readings) }

    public var isEmpty: Bool { count == 0 }

    /// Every rollup, in no particular order.
    var rows: [Rollup] { groups.values.flatMap { $0 } }

    /// Removes and returns at least `limit` rollups (whole groups), so a flood's deltas are
    /// written a slice per commit.
    public mutating func take(_ limit: Int) -> RollupDeltas {
        var out = RollupDeltas()
        guard limit < count else {
            swap(&out, &self)
            return out
        }
        var keys: [GroupKey] = []
        var taken = 0
        for (key, group) in groups where taken < max(limit, 1) {
            keys.append(key)
            taken += group.count
        }
        for key in keys {
            guard let group = groups.removeValue(forKey: key) else { continue }
            out.groups[key] = group
            out.count += group.count
            count -= group.count
        }
        return out
    }

    /// Adds another set of deltas (a retried batch's and the ones gathered since).
    public mutating func absorb(_ other: RollupDeltas) {
        for (key, group) in other.groups {
            guard var mine = groups.removeValue(forKey: key) else {
                groups[key] = group
                count += group.count
                continue
            }
            for delta in group {
                if let i = mine.firstIndex(where: { $0.kind == delta.kind }) {
                    mine[i].absorb(delta)
                } else {
                    mine.append(delta)
                    count += 1
                }
            }
            groups[key] = mine
        }
    }

    public mutating func merge(_ readings: some Collection<Reading>) {
        var i = readings.startIndex
        while i != readings.endIndex {
            // A run of readings of one sensor at one time (an uplink) shares its groups.
            let first = readings[i]
            var j = readings.index(after: i)
            while j != readings.endIndex, readings[j].timestamp == first.timestamp, readings[j].sensor == first.sensor {
                j = readings.index(after: j)
            }
            let name = SensorName(first.sensor)
            for bucket in RollupBucket.allCases {
                let start = bucket.start(of: first.timestamp)
                let key = GroupKey(sensor: name, bucket: bucket.seconds, start: start)
                // One lookup, changed in place through the default subscript's accessor.
                count += Self.add(readings[i..<j], bucket: bucket, start: start, to: &groups[key, default: []])
            }
            i = j
        }
    }

    /// Adds readings to a group; returns how many rollups it gained.
    private static func add(
        _ readings: some Collection<Reading>, bucket: RollupBucket, start: Double, to group: inout [Rollup]
    ) -> Int {
        var added = 0
        for reading in readings {
            let kind = reading.kind.rawValue
            if let k = group.firstIndex(where: { $0.kind == kind }) {
                group[k].add(reading.value, at: reading.timestamp)
            } else {
                group.append(Rollup(
                    sensor: reading.sensor, resource: reading.resource, kind: kind, unit: reading.unit,
                    bucket: bucket, start: start, count: 1, min: reading.value, max: reading.value,
                    sum: reading.value, last: reading.value, lastTimestamp: reading.timestamp))
                added += 1
            }
        }
        return added
    }
}

extension Rollup {
    mutating func absorb(_ delta: Rollup) {
        count += delta.count
        min = Swift.min(min, delta.min)
        max = Swift.max(max, delta.max)
        sum += delta.sum
        if delta.lastTimestamp >= lastTimestamp {
            last = delta.last
            lastTimestamp = delta.lastTimestamp
        }
    }

    mutating func add(_ value: Double, at timestamp: Double) {
        count += 1
        min = Swift.min(min, value)
        max = Swift.max(max, value)
        sum += value
        if timestamp >= lastTimestamp {
            last = value
            lastTimestamp = timestamp
        }
    }
}

extension TelemetryStore {
    /// Adds rollup deltas to the stored rows (one upsert per sensor, kind and bucket).
    func writeRollups(_ deltas: RollupDeltas) throws(StoreError) {
        for row in deltas.rows {
            try db.execute(
                """
                INSERT INTO rollups (sensor, kind, bucket, start, resource, unit, count, v_min, v_max, v_sum, v_last, last_ts)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (sensor, kind, bucket, start) DO UPDATE SET
                    count = count + excluded.count, v_min = min(v_min, excluded.v_min),
                    v_max = max(v_max, excluded.v_max), v_sum = v_sum + excluded.v_sum,
                    v_last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.v_last ELSE v_last END,
                    last_ts = max(last_ts, excluded.last_ts), resource = excluded.resource
                """,
                [
                    .text(row.sensor), .text(row.kind), .integer(Int64(row.bucket.seconds)), .real(row.start),
                    .text(row.resource), .text(row.unit), .integer(Int64(row.count)), .real(row.min), .real(row.max),
                    .real(row.sum), .real(row.last), .real(row.lastTimestamp),
                ])
        }
    }

    /// Rollups matching every given filter, newest bucket first.
    public func rollups(
        bucket: RollupBucket, sensor: String? = nil, resource: String? = nil, kind: String? = nil,
        from: Double? = nil, to: Double? = nil, limit: Int
    ) throws(StoreError) -> [Rollup] {
        var conditions = ["bucket = ?"]
        var arguments: [SQLValue] = [.integer(Int64(bucket.seconds))]
        for (column, value) in [("sensor", sensor), ("resource", resource), ("kind", kind)] {
            guard let value else { continue }
            conditions.append("\(column) = ?")
            arguments.append(.text(value))
        }
        if let from {
            conditions.append("start >= ?")
            arguments.append(.real(bucket.start(of: from)))
        }
        if let to {
            conditions.append("start < ?")
            arguments.append(.real(to))
        }
        arguments.append(.integer(Int64(Swift.max(limit, 0))))
        return try db.query(
            """
            SELECT sensor, resource, kind, unit, start, count, v_min, v_max, v_sum, v_last, last_ts FROM rollups
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY start DESC, sensor, kind LIMIT ?
            """, arguments
        ).map { row in
            Rollup(
                sensor: row.text(0) ?? "", resource: row.text(1) ?? "", kind: row.text(2) ?? "", unit: row.text(3) ?? "",
                bucket: bucket, start: row.double(4) ?? 0, count: row.int(5) ?? 0, min: row.double(6) ?? .nan,
                max: row.double(7) ?? .nan, sum: row.double(8) ?? .nan, last: row.double(9) ?? .nan,
                lastTimestamp: row.double(10) ?? 0)
        }
    }

    /// Deletes raw readings older than `before`: at most `limit` packed rows (and as many v1–v3
    /// rows); returns how many readings went.
    ///
    /// Retention runs in slices like this one so that a month's backlog after an upgrade never
    /// holds the loop for longer than one small transaction. Both tables are deleted from their
    /// time-ordered index's head: the pages freed are contiguous.
    public func pruneReadings(before: Double, limit: Int) throws(StoreError) -> Int {
        // SQLite hands out max(id) + 1: once retention empties both tables, ids would start over
        // and an export sink would take new readings for ones it already has.
        try db.execute(
            "INSERT INTO meta (key, value) VALUES ('reading_id_floor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [.text(String(nextReadingID - 1))])
        var removed = 0
        if legacyReadings {
            try db.execute(
                "DELETE FROM readings WHERE id IN (SELECT id FROM readings WHERE ts < ? ORDER BY ts LIMIT ?)",
                [.real(before), .integer(Int64(limit))])
            removed = db.changes
            if removed < limit { legacyReadings = try db.queryOne("SELECT 1 FROM readings LIMIT 1", []) != nil }
        }
        for row in try db.query(
            "DELETE FROM samples WHERE id IN (SELECT id FROM samples WHERE ts < ? ORDER BY ts LIMIT ?) RETURNING count",
            [.real(before), .integer(Int64(limit))])
        {
            removed += row.int(0) ?? 0
        }
        return removed
    }

    /// Deletes at most `limit` rollup rows whose bucket started before `before`.
    public func pruneRollups(before: Double, limit: Int) throws(StoreError) -> Int {
        var removed = 0
        for bucket in RollupBucket.allCases where removed < limit {
            try db.execute(
                """
                DELETE FROM rollups WHERE (sensor, kind, bucket, start) IN (
                    SELECT sensor, kind, bucket, start FROM rollups WHERE bucket = ? AND start < ? LIMIT ?)
                """,
                [.integer(Int64(bucket.seconds)), .real(before), .integer(Int64(limit - removed))])
            removed += db.changes
        }
        return removed
    }
}

extension Rollup {
    /// The bucket as the API shows it.
    public var json: JSON {
        [
            "sensor": .string(sensor), "resource": .string(resource), "kind": .string(kind), "unit": .string(unit),
            "bucket": .string(bucket.rawValue), "start": .number(start), "count": .number(Double(count)),
            "min": .number(min), "max": .number(max), "avg": .number(average), "last": .number(last),
            "last_ts": .number(lastTimestamp),
        ]
    }
}
