import FleetStore
import FleetTestSupport
import Testing

@testable import SensorIngest

/// telemetry-v6: an uplink's readings in one packed row, one id per reading, the v1–v3 table
/// still read, the newest per sensor rebuilt after a restart, checkpoints left to the timer.
@Suite struct TelemetryStorePackedTests {
    let directory = TemporaryDirectory()
    var path: String { directory.file("telemetry.sqlite") }

    /// Three readings measured together, as one AM307 uplink gives them (received half a second later).
    func uplink(_ sensor: String, at t: Double, co2: Double, resource: String = "hq/1") -> [Reading] {
        [(ReadingKind.temperature, 21.5, "°C"), (.humidity, 40, "%RH"), (.co2, co2, "ppm")].map { kind, value, unit in
            Reading(sensor: sensor, resource: resource, kind: kind, value: value, unit: unit, timestamp: t, receivedAt: t + 0.5)
        }
    }

    @Test func anUplinkIsOneRowAndEachReadingKeepsItsOwnID() throws {
        let store = try TelemetryStore(path: path)
        try store.append(uplink("A", at: 100, co2: 400) + uplink("B", at: 100, co2: 500) + uplink("A", at: 160, co2: 410))
        #expect(try store.db.queryOne("SELECT count(*) FROM samples")?.int(0) == 3)
        #expect(try store.lastReadingID() == 9)
        let all = try store.readings(after: 0, limit: 100)
        #expect(all.map(\.id) == Array(1...9))
        #expect(all.map(\.reading) == uplink("A", at: 100, co2: 400) + uplink("B", at: 100, co2: 500) + uplink("A", at: 160, co2: 410))

        // An export batch that ends inside a row: the next one starts right after it.
        let first = try store.readings(after: 0, limit: 4)
        let rest = try store.readings(after: try #require(first.last).id, limit: 100)
        #expect(first + rest == all)
        #expect(try store.backlog(after: 0) == 9)
        #expect(try store.backlog(after: 4) == 5)
        #expect(try store.backlog(after: 9) == 0)

        // Reopened: the same ids for the same readings, and new ones continue after them.
        let again = try TelemetryStore(path: path)
        #expect(try again.readings(after: 0, limit: 100) == all)
        try again.append(uplink("A", at: 220, co2: 420))
        #expect(try again.readings(after: 9, limit: 100).map(\.id) == [10, 11, 12])
    }

    @Test func idsAreNeverReusedOnceRetentionEmptiedTheTable() throws {
        var store = try TelemetryStore(path: path)
        try store.append(uplink("A", at: 100, co2: 400))
        #expect(try store.pruneReadings(before: 1_000, limit: 100) == 3)
        #expect(try store.series(limit: 10).isEmpty)
        store = try TelemetryStore(path: path)
        #expect(try store.lastReadingID() == 3)
        try store.append(uplink("A", at: 2_000, co2: 400))
        #expect(try store.readings(after: 0, limit: 10).map(\.id) == [4, 5, 6])
    }

    @Test func readingsStoredBeforeTheUpgradeStayReadable() throws {
        // A v3 database as the previous release left it.
        let legacy = try Database(path: path, migrations: Array(TelemetryStore.migrations.prefix(3)))
        for (kind, value, unit, ts) in [("co2", 380.0, "ppm", 50.0), ("humidity", 41, "%RH", 50), ("co2", 390, "ppm", 110)] {
            try legacy.execute(
                "INSERT INTO readings (sensor, resource, kind, value, unit, ts, received_at) VALUES ('A', 'hq/1', ?, ?, ?, ?, ?)",
                [.text(kind), .real(value), .text(unit), .real(ts), .real(ts + 0.5)])
        }
        try legacy.execute("INSERT INTO uplinks_seen VALUES ('A', 7, ?, 110)", [.integer(UplinkKey(devEUI: "A", fCnt: 7, payload: [1]).payloadHash)])
        legacy.close()

        let store = try TelemetryStore(path: path)
        #expect(store.db.appliedMigrations == TelemetryStore.migrations.map(\.name))
        try store.append(uplink("A", at: 160, co2: 410))

        // Raw series and the newest per kind read both tables.
        #expect(try store.series(sensor: "A", kind: .co2, limit: 10).map(\.value) == [410, 390, 380])
        #expect(try store.series(sensor: "A", limit: 2).map(\.timestamp) == [160, 160])
        #expect(try store.series(resource: "hq/1", from: 100, to: 200, limit: 10).count == 4)
        let latest = try store.latest(sensor: "A")
        #expect(latest.map(\.kind) == [.co2, .humidity, .temperature])
        #expect(latest.map(\.value) == [410, 40, 21.5])

        // The export outbox continues across the two tables: no id twice, none skipped.
        #expect(try store.readings(after: 0, limit: 10).map(\.id) == [1, 2, 3, 4, 5, 6])
        #expect(try store.readings(after: 2, limit: 2).map(\.id) == [3, 4])
        #expect(try store.backlog(after: 2) == 4)

        // The duplicate filter still knows what it took before the upgrade.
        #expect(try store.isDuplicate(UplinkKey(devEUI: "A", fCnt: 7, payload: [1]), since: 100))
        #expect(try store.highestFrameCounters(since: 0) == ["A": 7])

        // Retention prunes the old table too, and ids stay above everything it held.
        #expect(try store.pruneReadings(before: 100, limit: 10) == 2)
        #expect(try store.series(limit: 10).map(\.value) == [410, 40, 21.5, 390])  // same time: later id first
        #expect(try store.pruneReadings(before: 1_000, limit: 10) == 4)
        #expect(!store.legacyReadings)
        try store.append(uplink("A", at: 2_000, co2: 400))
        #expect(try store.readings(after: 0, limit: 10).map(\.id) == [7, 8, 9])
    }

    @Test func theNewestPerSensorSurvivesARestartBeforeItWasWrittenBack() throws {
        let store = try TelemetryStore(path: path)
        // More sensors than one commit writes back to `latest`: the others are replayed from
        // their samples when the store opens.
        let sensors = (0..<(3 * TelemetryStore.latestSlice)).map { "S\($0)" }
        try store.append(sensors.flatMap { uplink($0, at: 100, co2: 400) })
        try store.append(sensors.flatMap { uplink($0, at: 160, co2: 500) })
        let written = try store.db.queryOne("SELECT count(DISTINCT sensor) FROM latest")?.int(0) ?? 0
        #expect(written > 0 && written < sensors.count)

        let again = try TelemetryStore(path: path)
        for sensor in sensors {
            #expect(try again.latest(sensor: sensor).first { $0.kind == .co2 }?.value == 500)
        }
        // Oldest changes are written first, so `latest_through` moves on while writes go on; a
        // final flush writes the rest and leaves nothing to replay.
        let through = again.latestThrough
        try again.append(uplink("S0", at: 220, co2: 600))
        #expect(again.latestThrough > through)
        var final = TelemetryBatch()
        final.writesAllLatest = true
        try again.commit(final)
        #expect(!again.hasUnwrittenLatest)
        #expect(again.latestThrough == again.nextReadingID - 1)
        #expect(try again.db.queryOne("SELECT count(DISTINCT sensor) FROM latest")?.int(0) == sensors.count)

        // A reading measured earlier (a history record) does not replace a newer one.
        try again.append(uplink("S1", at: 130, co2: 999))
        #expect(try again.latest(sensor: "S1").first { $0.kind == .co2 }?.value == 500)
        #expect(try again.latest(sensor: "S1").first { $0.kind == .co2 }?.timestamp == 160)
    }

    @Test func aKindFilterSkipsRowsWithoutThatKind() throws {
        let store = try TelemetryStore(path: path)
        let battery = Reading(sensor: "B", resource: "hq/2", kind: .battery, value: 95, unit: "%", timestamp: 300, receivedAt: 300)
        try store.append(uplink("A", at: 100, co2: 400) + [battery] + uplink("A", at: 200, co2: 410))
        #expect(try store.series(kind: .battery, limit: 10) == [battery])
        #expect(try store.series(kind: .co2, limit: 1).map(\.value) == [410])
        #expect(try store.series(sensor: "A", kind: .battery, limit: 10).isEmpty)
        #expect(try store.series(kind: .pm10, limit: 10).isEmpty)
        #expect(try store.series(sensor: "nobody", limit: 10).isEmpty)
    }

    @Test func checkpointsAreLeftToTheIngestTimer() throws {
        let store = try TelemetryStore(path: path)
        #expect(try store.db.autoCheckpointPages() == 0)
        for minute in 0..<20 {
            try store.append((0..<50).flatMap { uplink("S\($0)", at: Double(minute) * 60, co2: 400) })
        }
        let result = try store.checkpoint()
        #expect(result.logFrames > 0)
        #expect(result.checkpointedFrames == result.logFrames)
    }

    @Test(arguments: [[21.5, -40, 0], [Double.greatestFiniteMagnitude, -0.0, 1e-300]])
    func packedValuesReadBackExactly(values: [Double]) {
        let packed = SamplePacking.pack(values.enumerated().map { (channel: $0.offset * 300, value: $0.element) })
        #expect(packed.count == values.count * SamplePacking.bytesPerReading)
        let unpacked = SamplePacking.unpack(packed)
        #expect(unpacked?.map(\.value) == values)
        #expect(unpacked?.map(\.channel) == values.indices.map { $0 * 300 })
        #expect(SamplePacking.unpack(Array(packed.dropLast())) == nil)
    }

    @Test(arguments: [(0, Int64(1)), (5, 32), (63, Int64.min), (700, Int64.min)])
    func maskBits(channel: Int, bit: Int64) {
        #expect(SamplePacking.bit(channel) == bit)
    }
}
