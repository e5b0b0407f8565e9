import FleetJSON
import FleetLoop
import FleetTestSupport
import Testing

@testable import SensorIngest

/// The claim window is kept in `telemetry.sqlite` with its absolute expiry on the clock's wall
/// time: a restart within it reopens it with the time left, one after it drops it, and closing
/// removes it.
@Suite struct PermitWindowRestartTests {
    let directory = TemporaryDirectory()
    let clock = ManualClock(unixTime: 1_800_000_000)

    static let newcomer = "24E124710C777777"
    static let neighbour = "24E124710C654321"
    /// AM307 README frame: temperature, humidity, PIR, light, CO2, tVOC, pressure.
    static let readme: [UInt8] = bytes("0367EE0004687C05000106CB02077DA803087D250009736627")

    func open() throws -> SensorIngest { try SensorIngest.startedAsTheDaemonDoes(in: directory, clock: clock) }

    func send(_ ingest: SensorIngest, _ devEUI: String, fCnt: Int, payload: [UInt8] = readme) {
        ingest.take([.lorawan(Uplink(devEUI: devEUI, fPort: 85, fCnt: fCnt, payload: payload))], topic: "t", payload: [],
                    at: clock.unixTime)
        ingest.flush()
    }

    /// (seconds the daemon is down, whether the window is open after the start)
    @Test(arguments: [(30.0, true), (179.0, true), (180.0, false), (3600.0, false)])
    func aRestartReopensTheWindowUntilItsExpiry(downFor: Double, reopened: Bool) throws {
        let opened = clock.unixTime
        do {
            let ingest = try open()
            try ingest.openPermit(vendor: "milesight", model: "AM307", resource: "hq/4/4.02", seconds: 180)
            send(ingest, Self.neighbour, fCnt: 1, payload: [0xFF, 0xFF, 0xFF])  // refused: not an AM307's payload
            #expect(ingest.permitWindow?.refused.keys.sorted() == [Self.neighbour])
        }
        clock.advance(by: .seconds(downFor))
        let ingest = try open()
        guard reopened else {
            #expect(ingest.permitWindow == nil)
            #expect(try ingest.store.storedPermit() == nil, "an expired window is dropped from the store")
            send(ingest, Self.newcomer, fCnt: 1)
            #expect(ingest.sensors.isEmpty)
            return
        }
        let window = try #require(ingest.permitWindow)
        #expect(window.model == "AM307" && window.vendor == "milesight" && window.resource == "hq/4/4.02")
        #expect(window.opened == opened && window.until == opened + 180, "the same absolute expiry")
        #expect(window.refused.isEmpty, "what it passed over is judged afresh")
        #expect(ingest.permitJSON()["remaining_s"]?.double == 180 - downFor)
        send(ingest, Self.newcomer, fCnt: 1)
        #expect(ingest.sensors.map(\.devEUI) == [Self.newcomer])
        #expect(ingest.claimOrigin(Self.newcomer) == .permit)
        #expect(ingest.permitWindow?.claimed == [Self.newcomer])
        // Past the expiry it claims nothing more, restart or not.
        clock.advance(by: .seconds(180))
        send(ingest, "24E124710C888888", fCnt: 1)
        #expect(ingest.sensors.map(\.devEUI) == [Self.newcomer])
    }

    @Test func closingRemovesTheStoredWindowAndOpeningAgainReplacesIt() throws {
        do {
            let ingest = try open()
            try ingest.openPermit(vendor: "milesight", model: "AM307", resource: "hq/4/4.02", seconds: 600)
            try ingest.openPermit(vendor: "milesight", model: "VS133", resource: "hq/2/2.10", seconds: 300)
        }
        do {
            let ingest = try open()
            #expect(ingest.permitWindow?.model == "VS133", "the newer window replaced the older")
            #expect(ingest.permitWindow?.until == clock.unixTime + 300)
            #expect(ingest.closePermit() == nil)
            #expect(ingest.permitWindow == nil)
        }
        let ingest = try open()
        #expect(ingest.permitWindow == nil)
        #expect(try ingest.store.storedPermit() == nil)
    }

    @Test func aRefusedWindowIsNotStored() throws {
        let ingest = try open()
        #expect(throws: DecodeError.self) {
            try ingest.openPermit(vendor: "milesight", model: "AM307", resource: "hq/4", seconds: 1200)
        }
        #expect(try ingest.store.storedPermit() == nil)
    }
}

extension SensorIngest {
    /// SensorIngest on `directory`'s telemetry.sqlite, with the claims and the claim window read
    /// back as at a daemon start: open it again to restart.
    static func startedAsTheDaemonDoes(in directory: TemporaryDirectory, clock: ManualClock) throws -> SensorIngest {
        let ingest = SensorIngest(
            store: try TelemetryStore(path: directory.path + "/telemetry.sqlite"), clock: clock,
            logger: CapturedLogs().logger, dayOf: { OccupancyTracker.utcDay($0) })
        ingest.loadStoredClaims()
        ingest.restorePermit()
        return ingest
    }
}
