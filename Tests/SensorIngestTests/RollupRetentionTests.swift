import FleetLoop
import FleetTestSupport
import Testing

@testable import SensorIngest

/// Rollups merged across flushes, retention in slices, people counts per resource.
@Suite struct RollupRetentionTests {
    let directory = TemporaryDirectory()
    let store: TelemetryStore

    init() throws {
        store = try TelemetryStore(path: directory.path + "/telemetry.sqlite")
    }

    static let t0 = 1_800_000_000.0  // 2027-01-15T08:00:00Z, on an hour boundary

    func reading(_ value: Double, at t: Double, kind: ReadingKind = .co2, sensor: String = "S1") -> Reading {
        Reading(sensor: sensor, resource: "hq/1", kind: kind, value: value, unit: "ppm", timestamp: t, receivedAt: t)
    }

    @Test func rollupsMergeAcrossBatchesPerBucket() throws {
        try store.append([reading(500, at: Self.t0 + 10), reading(700, at: Self.t0 + 890)])
        try store.append([reading(400, at: Self.t0 + 600), reading(900, at: Self.t0 + 901)])
        // A late history record older than the newest one: counted, but `last` stays the newest.
        try store.append([reading(100, at: Self.t0 + 5)])

        let quarters = try store.rollups(bucket: .quarterHour, sensor: "S1", limit: 10)
        #expect(quarters.map(\.start) == [Self.t0 + 900, Self.t0])
        let first = try #require(quarters.last)
        #expect(first.count == 4)
        #expect(first.min == 100 && first.max == 700)
        #expect(first.average == (500 + 700 + 400 + 100) / 4)
        #expect(first.last == 700 && first.lastTimestamp == Self.t0 + 890)

        let hours = try store.rollups(bucket: .hour, sensor: "S1", kind: "co2", limit: 10)
        #expect(hours.count == 1)
        #expect(hours[0].count == 5 && hours[0].max == 900 && hours[0].last == 900)
        #expect(try store.rollups(bucket: .hour, sensor: "S1", kind: "humidity", limit: 10).isEmpty)
        #expect(try store.rollups(bucket: .quarterHour, from: Self.t0 + 900, limit: 10).count == 1)
    }

    @Test(arguments: [(1_800_000_000.0, 1_800_000_000.0), (1_800_000_899.9, 1_800_000_000.0), (1_800_000_900, 1_800_000_900)])
    func quarterHourBucketStart(time: Double, start: Double) {
        #expect(RollupBucket.quarterHour.start(of: time) == start)
    }

    @Test func retentionPrunesInSlicesAndKeepsRollupsLonger() throws {
        let reactor = try Reactor(clock: ManualClock(unixTime: Self.t0 + 31 * 86_400))
        let old = (0..<25).map { reading(Double($0), at: Self.t0 + Double($0)) }
        let fresh = [reading(1, at: Self.t0 + 30 * 86_400)]
        try store.append(old + fresh)
        var settings = TelemetryRetention.Settings()
        settings.slice = 10
        let retention = TelemetryRetention(store: store, reactor: reactor, settings: settings, logger: CapturedLogs().logger)
        #expect(retention.runSlice())
        #expect(try store.series(limit: 100).count == 16)
        #expect(retention.runSlice())
        #expect(!retention.runSlice())
        #expect(try store.series(limit: 100).map(\.value) == [1])
        #expect(retention.removed == 25)
        // The 31-day-old buckets outlive their raw readings.
        #expect(try store.rollups(bucket: .hour, limit: 10).count == 2)

        retention.settings.rollups = 86_400
        #expect(!retention.runSlice())
        #expect(try store.rollups(bucket: .hour, limit: 10).map(\.start) == [Self.t0 + 30 * 86_400])
    }

    @Test(arguments: [
        // (events as (kind, value, hour of day), people after, occupied)
        ([("people_in", 3.0, 9.0), ("people_out", 1, 10)], 2, true),
        ([("people_in", 1.0, 9.0), ("people_out", 4, 10)], 0, false),  // never below zero
        ([("people_in", 2.0, 9.0), ("people_out", 5, 10), ("people_in", 1, 11)], 1, true),
        ([("people_in", 5.0, 22.0), ("people_in", 1, 25)], 1, true),  // midnight: yesterday's 5 are gone
        ([("people_in", -3.0, 9.0)], 0, false),  // a negative delta is nonsense, ignored
    ])
    func peopleCountFromCounters(events: [(String, Double, Double)], people: Int, occupied: Bool) throws {
        var tracker = OccupancyTracker(dayOf: { OccupancyTracker.utcDay($0) })
        let midnight = 1_799_971_200.0  // 2027-01-15T00:00:00Z
        var last = midnight
        for (kind, value, hour) in events {
            guard let kind = ReadingKind(rawValue: kind) else { return }  // counters not in this build yet
            last = midnight + hour * 3600
            _ = tracker.apply(Reading(sensor: "C1", resource: "hq/lobby", kind: kind, value: value, unit: "people",
                                      timestamp: last, receivedAt: last))
        }
        let state = tracker.state(of: "hq/lobby", now: last)
        #expect(state.people ?? 0 == people)
        #expect(state.occupied == occupied)
    }

    @Test func rollOverAtLocalMidnightResetsCounts() {
        var tracker = OccupancyTracker(dayOf: { OccupancyTracker.utcDay($0, offset: 3600) })  // UTC+1
        tracker.restore([.init(resource: "hq/lobby", day: 20_270_115, people: 4, updatedAt: 0)])
        #expect(tracker.rollOver(now: 1_799_971_200 + 22 * 3600).isEmpty)  // 23:00 local: same day
        let reset = tracker.rollOver(now: 1_799_971_200 + 23 * 3600)  // 00:00 local
        #expect(reset.map(\.people) == [0])
        #expect(reset.map(\.day) == [20_270_116])
        #expect(tracker.state(of: "hq/lobby", now: 1_799_971_200 + 23 * 3600) == .init(people: 0, occupied: false))
    }

    @Test(arguments: [(0.0, 19_700_101), (951_782_400, 20_000_229), (1_799_971_199, 20_270_114)])
    func civilDays(time: Double, day: Int) {
        #expect(OccupancyTracker.utcDay(time) == day)
    }
}
