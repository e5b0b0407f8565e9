import FleetTestSupport
import FleetStore
import Testing

@testable import SensorIngest

@Suite struct TelemetryStoreTests {
    let directory: TemporaryDirectory
    let store: TelemetryStore

    init() throws {
        directory = TemporaryDirectory()
        store = try TelemetryStore(path: directory.path + "/telemetry.sqlite")
    }

    func reading(_ sensor: String, _ kind: ReadingKind, _ value: Double, at ts: Double) -> Reading {
        Reading(
            sensor: sensor, resource: "hq/3/3.14", kind: kind, value: value, unit: "u", timestamp: ts,
            receivedAt: ts + 1)
    }

    @Test func reopeningAppliesNoMigrationTwice() throws {
        try store.append([reading("A", .co2, 400, at: 1)])
        let again = try TelemetryStore(path: directory.path + "/telemetry.sqlite")
        #expect(again.db.appliedMigrations == TelemetryStore.migrations.map(\.name))
        #expect(try again.series(limit: 10).count == 1)
    }

    @Test func batchInsertAndSeriesFilters() throws {
        var batch: [Reading] = []
        for minute in 0..<10 {
            let ts = 1_800_000_000 + Double(minute) * 60
            batch.append(reading("A", .temperature, 20 + Double(minute), at: ts))
            batch.append(reading("A", .co2, 400 + Double(minute), at: ts))
            batch.append(reading("B", .temperature, 10, at: ts))
        }
        try store.append(batch)
        #expect(try store.series(limit: 1_000).count == 30)

        let a = try store.series(sensor: "A", kind: .temperature, limit: 100)
        #expect(a.map(\.value) == (0..<10).reversed().map { 20 + Double($0) })  // newest first
        #expect(a.first == reading("A", .temperature, 29, at: 1_800_000_540))

        let window = try store.series(sensor: "A", kind: .co2, from: 1_800_000_060, to: 1_800_000_180, limit: 100)
        #expect(window.map(\.value) == [402, 401])  // `to` is exclusive

        // Same timestamp: the later insert comes first.
        #expect(try store.series(kind: .temperature, limit: 3).map(\.sensor) == ["B", "A", "B"])
        #expect(try store.series(resource: "hq/3/3.14", limit: 1_000).count == 30)
        #expect(try store.series(resource: "elsewhere", limit: 1_000).isEmpty)
        #expect(try store.series(sensor: "A", limit: 0).isEmpty)
    }

    @Test func latestGivesTheNewestOfEachKind() throws {
        try store.append([
            reading("A", .co2, 500, at: 30), reading("A", .co2, 400, at: 10), reading("A", .humidity, 40, at: 20),
            reading("B", .co2, 999, at: 99),
        ])
        let latest = try store.latest(sensor: "A")
        #expect(latest.map(\.kind) == [.co2, .humidity])
        #expect(latest.map(\.value) == [500, 40])
        #expect(latest.map(\.timestamp) == [30, 20])
    }

    @Test func aFailingBatchStoresNothing() throws {
        // NaN binds as NULL, which the NOT NULL column refuses: the whole transaction rolls back.
        #expect(throws: StoreError.self) {
            try store.commit(TelemetryBatch(
                readings: [reading("A", .co2, 400, at: 1), reading("A", .co2, .nan, at: 2)],
                deadLetters: [DeadLetter(receivedAt: 1, topic: "t", device: "A", reason: "r", payload: [])]))
        }
        #expect(try store.series(limit: 10).isEmpty)
        #expect(try store.deadLetters(limit: 10).isEmpty)
    }

    @Test func duplicatesAreKnownWithinTheirWindow() throws {
        let key = UplinkKey(devEUI: "24E124136B502217", fCnt: 128, payload: [1, 2, 3])
        #expect(try store.isDuplicate(key) == false)
        try store.markSeen(key, at: 1_000)
        #expect(try store.isDuplicate(key))
        #expect(try store.isDuplicate(key, since: 999))
        #expect(try store.isDuplicate(key, since: 1_001) == false)
        #expect(try store.isDuplicate(UplinkKey(devEUI: key.devEUI, fCnt: 128, payload: [1, 2, 4])) == false)
        #expect(try store.isDuplicate(UplinkKey(devEUI: key.devEUI, fCnt: 129, payload: [1, 2, 3])) == false)
        try store.pruneSeen(before: 1_001)
        #expect(try store.isDuplicate(key) == false)
    }

    @Test func payloadHashIsStableAndSpreads() {
        #expect(UplinkKey(devEUI: "A", fCnt: 0, payload: []).payloadHash == Int64(bitPattern: 0xcbf2_9ce4_8422_2325))
        let a = UplinkKey(devEUI: "A", fCnt: 0, payload: [0x61])
        #expect(a.payloadHash == Int64(bitPattern: 0xaf63_dc4c_8601_ec8c))
    }

    @Test func deadLettersAreCountedPerDeviceAndPrunedByAge() throws {
        try store.deadLetter(receivedAt: 1, topic: "t/1", device: "A", reason: "first", payload: [1])
        try store.deadLetter(receivedAt: 2, topic: "t/1", device: "A", reason: "second", payload: [2])
        try store.deadLetter(receivedAt: 3, topic: "t/2", device: "", reason: "malformed", payload: [3])
        #expect(try store.deadLetters(limit: 10).map(\.reason) == ["malformed", "second", "first"])
        #expect(try store.deadLetters(limit: 1).first?.payload == [3])

        try store.pruneDeadLetters(keep: 1)
        #expect(try store.deadLetters(limit: 10).map(\.reason) == ["malformed"])
        let counts = try store.deadLetterCounts()
        #expect(counts.map(\.device) == ["A", ""])
        #expect(counts.map(\.count) == [2, 1])
        #expect(counts.first?.lastReason == "second")
    }

    @Test func discoveredDevicesAccumulate() throws {
        try store.recordDiscovered(devEUI: "24E1", at: 10, topic: "t/a", payload: [1], deviceName: "EM300-TH")
        try store.recordDiscovered(devEUI: "24E1", at: 20, topic: "t/b", payload: [2])
        try store.recordDiscovered(devEUI: "FFFF", at: 15, topic: "t/c", payload: [3])
        let devices = try store.discovered()
        #expect(devices.map(\.devEUI) == ["24E1", "FFFF"])
        #expect(devices[0] == DiscoveredDevice(
            devEUI: "24E1", firstSeen: 10, lastSeen: 20, count: 2, lastPayload: [2], lastTopic: "t/b",
            deviceName: "EM300-TH"))
        try store.forgetDiscovered(devEUI: "24E1")
        #expect(try store.discovered().map(\.devEUI) == ["FFFF"])
    }
}
