import FleetLoop
import FleetTestSupport
import Testing

@testable import SensorIngest

/// The ingest façade on the packed store: when the WAL is copied back, and how duplicates are
/// found once their keys left memory.
@Suite struct TelemetryStoreIngestTests {
    let directory = TemporaryDirectory()
    let clock = ManualClock(unixTime: 1_800_000_000)
    let logs = CapturedLogs()
    static let am307 = "24E124710C123456"
    /// AM307 README frame: temperature, humidity, PIR, light, CO2, tVOC, pressure.
    static let readme: [UInt8] = bytes("0367EE0004687C05000106CB02077DA803087D250009736627")

    func open() throws -> SensorIngest {
        let store = try TelemetryStore(path: directory.file("telemetry.sqlite"))
        let ingest = SensorIngest(store: store, clock: clock, logger: logs.logger, dayOf: { OccupancyTracker.utcDay($0) })
        try ingest.claim(Sensor(devEUI: Self.am307, vendor: "milesight", model: "AM307", resource: "hq/1"))
        return ingest
    }

    func take(_ ingest: SensorIngest, fCnt: Int, payload: [UInt8] = readme) {
        ingest.take([.lorawan(Uplink(devEUI: Self.am307, fPort: 85, fCnt: fCnt, payload: payload))], topic: "t",
                    payload: payload, at: clock.unixTime)
    }

    @Test func theWALIsCopiedBackOnceWritesPauseNotBetweenCommits() throws {
        let ingest = try open()
        take(ingest, fCnt: 1)
        #expect(ingest.flush() == 7)
        #expect(ingest.store.walFrames > 0)
        ingest.checkpoint()  // writes just happened: leave the WAL alone
        #expect(ingest.checkpoints.count == 0)
        clock.advance(by: SensorIngest.checkpointQuiet)
        ingest.checkpoint()
        #expect(ingest.checkpoints.count == 1)
        #expect(ingest.store.walFrames == 0)
        ingest.checkpoint()  // nothing new to copy
        #expect(ingest.checkpoints.count == 1)
    }

    @Test func aLargeWALIsCopiedBackEvenWhileWritesGoOn() throws {
        let ingest = try open()
        ingest.checkpointFrames = 40
        var fCnt = 0
        var flushes = 0
        while ingest.checkpoints.count == 0 && flushes < 100 {
            for _ in 0..<50 {
                fCnt += 1
                take(ingest, fCnt: fCnt)
            }
            ingest.flush()
            flushes += 1
            ingest.checkpoint()  // no pause between flushes: only the size lets it run
        }
        #expect(ingest.checkpoints.count == 1)
        #expect(ingest.checkpoints.lastLogFrames >= 40)
        #expect(ingest.store.walFrames == 0)
    }

    @Test func aCopyOlderThanTheKeysInMemoryIsStillFoundAfterARestart() throws {
        do {
            let ingest = try open()
            for fCnt in 1...(RecentUplinks.perDevice + 5) { take(ingest, fCnt: fCnt) }
            ingest.flush()
            #expect(ingest.counters.duplicates == 0)
        }
        let ingest = try open()
        // Seeded from the log: the newest keys answer from memory, older ones from the log.
        take(ingest, fCnt: RecentUplinks.perDevice + 5)
        take(ingest, fCnt: 1)
        take(ingest, fCnt: 2, payload: [0x03, 0x67, 0x10, 0x01])  // same counter, other bytes: a rejoin
        ingest.flush()
        #expect(ingest.counters.duplicates == 2)
        #expect(try ingest.store.series(sensor: Self.am307, kind: .temperature, limit: 100).count == RecentUplinks.perDevice + 6)
    }
}
