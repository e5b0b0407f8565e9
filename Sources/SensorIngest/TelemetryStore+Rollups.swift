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

extension TelemetryStore {
    /// Merges a batch's readings into both rollup widths: one upsert per (sensor, kind, bucket)
    /// per batch rather than per reading, so a burst of history records costs a few rows.
    func writeRollups(_ readings: [Reading]) throws(StoreError) {
        guard !readings.isEmpty else { return }
        struct Key: Hashable {
            var sensor: String
            var kind: String
            var bucket: Int
            var start: Double
        }
        var merged: [Key: Rollup] = [:]
        merged.reserveCapacity(readings.count * 2)
        for reading in readings {
            for bucket in RollupBucket.allCases {
                let start = bucket.start(of: reading.timestamp)
                let key = Key(sensor: reading.sensor, kind: reading.kind.rawValue, bucket: bucket.seconds, start: start)
                if var row = merged[key] {
                    row.count += 1
                    row.min = Swift.min(row.min, reading.value)
                    row.max = Swift.max(row.max, reading.value)
                    row.sum += reading.value
                    if reading.timestamp >= row.lastTimestamp {
                        row.last = reading.value
                        row.lastTimestamp = reading.timestamp
                    }
                    merged[key] = row
                } else {
                    merged[key] = Rollup(
                        sensor: reading.sensor, resource: reading.resource, kind: key.kind, unit: reading.unit,
                        bucket: bucket, start: start, count: 1, min: reading.value, max: reading.value,
                        sum: reading.value, last: reading.value, lastTimestamp: reading.timestamp)
                }
            }
        }
        for row in merged.values {
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

    /// Deletes at most `limit` raw readings older than `before`; returns how many went.
    ///
    /// Retention runs in slices like this one so that a month's backlog after an upgrade never
    /// holds the loop for longer than one small transaction.
    public func pruneReadings(before: Double, limit: Int) throws(StoreError) -> Int {
        try db.execute(
            "DELETE FROM readings WHERE id IN (SELECT id FROM readings WHERE ts < ? ORDER BY ts LIMIT ?)",
            [.real(before), .integer(Int64(limit))])
        return db.changes
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
