import FleetTestSupport
import Testing

@testable import SensorIngest

/// Rollup deltas grouped per sensor and bucket, and written a slice per commit: whatever the
/// slicing, the stored rollups are the ones a single write gives.
@Suite struct TelemetryStoreRollupSliceTests {
    static let t0 = 1_800_000_000.0  // on an hour boundary

    func uplink(_ sensor: String, at t: Double, co2: Double) -> [Reading] {
        [(ReadingKind.temperature, 21.5, "°C"), (.co2, co2, "ppm")].map { kind, value, unit in
            Reading(sensor: sensor, resource: "hq/1", kind: kind, value: value, unit: unit, timestamp: t, receivedAt: t)
        }
    }

    /// Ten sensors, three uplinks each in two quarter-hours of the same hour.
    var readings: [Reading] {
        (0..<10).flatMap { s in
            [0.0, 60, 1_000].flatMap { offset in uplink("S\(s)", at: Self.t0 + offset, co2: 400 + offset) }
        }
    }

    @Test func anUplinkCostsOneGroupPerBucketWidth() {
        let deltas = RollupDeltas(uplink("A", at: Self.t0, co2: 400))
        #expect(deltas.groups.count == 2)
        #expect(deltas.count == 4)  // two kinds × two widths
    }

    @Test(arguments: [1, 3, 7, 100])
    func takingSlicesLosesAndDuplicatesNothing(limit: Int) {
        var deltas = RollupDeltas(readings)
        let total = deltas.count
        #expect(total == 10 * 2 * 3)  // sensors × kinds × (two quarters + one hour)
        var taken: [Rollup] = []
        while !deltas.isEmpty {
            let slice = deltas.take(limit)
            #expect(slice.count >= min(limit, total) || deltas.isEmpty)
            taken += slice.rows
        }
        #expect(taken.count == total)
        #expect(Set(taken.map { "\($0.sensor)|\($0.kind)|\($0.bucket.rawValue)|\($0.start)" }).count == total)
    }

    @Test func absorbingEqualsMergingAtOnce() {
        var split = RollupDeltas(Array(readings.prefix(25)))
        split.absorb(RollupDeltas(Array(readings.dropFirst(25))))
        let whole = RollupDeltas(readings)
        #expect(split.count == whole.count)
        func key(_ r: Rollup) -> String { "\(r.sensor)|\(r.kind)|\(r.bucket.rawValue)|\(r.start)" }
        let expected = Dictionary(uniqueKeysWithValues: whole.rows.map { (key($0), $0) })
        for row in split.rows { #expect(expected[key(row)] == row) }
    }

    @Test func slicedWritesStoreWhatOneWriteStores() throws {
        let directory = TemporaryDirectory()
        let sliced = try TelemetryStore(path: directory.file("sliced.sqlite"))
        let once = try TelemetryStore(path: directory.file("once.sqlite"))
        var deltas = RollupDeltas(readings)
        try once.commit(TelemetryBatch(rollups: deltas))
        while !deltas.isEmpty { try sliced.commit(TelemetryBatch(rollups: deltas.take(4))) }
        for bucket in RollupBucket.allCases {
            let a = try sliced.rollups(bucket: bucket, limit: 1_000)
            let b = try once.rollups(bucket: bucket, limit: 1_000)
            #expect(a.count == (bucket == .hour ? 20 : 40))
            #expect(a == b)
        }
        let co2 = try #require(try once.rollups(bucket: .hour, sensor: "S3", kind: "co2", limit: 1).first)
        #expect(co2.count == 3 && co2.min == 400 && co2.max == 1_400 && co2.last == 1_400)
    }
}
