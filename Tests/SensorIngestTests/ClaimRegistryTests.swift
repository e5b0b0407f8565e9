import FleetJSON
import FleetLoop
import FleetTestSupport
import Testing

@testable import SensorIngest

/// Claims through the API survive a restart; the claim window claims only new devices of its
/// model, only while open; gateway-decoded reports and presence are stored once.
@Suite struct ClaimRegistryTests {
    let directory = TemporaryDirectory()
    let clock = ManualClock(unixTime: 1_800_000_000)
    let logs = CapturedLogs()

    static let am307 = "24E124710C123456"
    static let other = "24E124710C654321"
    /// AM307 README frame: temperature, humidity, PIR, light, CO2, tVOC, pressure.
    static let readme: [UInt8] = bytes("0367EE0004687C05000106CB02077DA803087D250009736627")

    func open() throws -> SensorIngest {
        let store = try TelemetryStore(path: directory.path + "/telemetry.sqlite")
        return SensorIngest(store: store, clock: clock, logger: logs.logger, dayOf: { OccupancyTracker.utcDay($0) })
    }

    func uplink(_ devEUI: String, fCnt: Int, name: String? = nil, payload: [UInt8] = readme) -> IngestMessage {
        .lorawan(Uplink(devEUI: devEUI, fPort: 85, fCnt: fCnt, payload: payload, deviceName: name))
    }

    @Test func apiClaimsSurviveARestartConfigClaimsDoNot() throws {
        do {
            let ingest = try open()
            try ingest.claim(Sensor(devEUI: "24e124-710c-123456", vendor: "Milesight", model: "am307", resource: "hq/1"),
                             origin: .api)
            try ingest.claim(Sensor(devEUI: Self.other, vendor: "milesight", model: "AM307", resource: "hq/2"))
            try ingest.claim(Sensor(devEUI: "IRX-0042", vendor: "irisys", model: "Vector 4D", resource: "hq/lobby"),
                             origin: .api)
        }
        let ingest = try open()
        ingest.loadStoredClaims()
        #expect(ingest.sensors.map(\.devEUI) == [Self.am307, "IRX-0042"])
        #expect(ingest.sensors.first?.model == "AM307")
        #expect(ingest.claimOrigin(Self.am307) == .api)
        #expect(ingest.unclaim(devEUI: Self.am307))
        #expect(!ingest.unclaim(devEUI: Self.am307))
        let again = try open()
        again.loadStoredClaims()
        #expect(again.sensors.map(\.devEUI) == ["IRX-0042"])
    }

    @Test(arguments: [
        ("milesight", "AM999", "unknown model"),
        ("acme", "X1", "unknown vendor"),
    ])
    func claimsOfUnknownModelsAreRefused(vendor: String, model: String, reason: String) throws {
        let ingest = try open()
        #expect {
            try ingest.claim(Sensor(devEUI: Self.am307, vendor: vendor, model: model, resource: "hq/1"), origin: .api)
        } throws: { "\($0)".contains(reason) }
        #expect(ingest.sensors.isEmpty)
    }

    @Test func permitWindowClaimsNewDevicesOfItsModelWhileOpen() throws {
        let ingest = try open()
        // Heard before the window opened: a neighbour's sensor, not the one being installed.
        ingest.take([uplink(Self.other, fCnt: 1)], topic: "t", payload: [], at: clock.unixTime)
        ingest.flush()

        clock.advance(by: .seconds(10))
        try ingest.openPermit(vendor: "milesight", model: "AM307", resource: "hq/3/3.14", seconds: 180)
        ingest.take([uplink(Self.other, fCnt: 2)], topic: "t", payload: [], at: clock.unixTime)
        ingest.take([uplink(Self.am307, fCnt: 1)], topic: "t", payload: [], at: clock.unixTime)
        ingest.flush()
        #expect(ingest.sensors.map(\.devEUI) == [Self.am307])
        #expect(ingest.sensors.first?.resource == "hq/3/3.14")
        #expect(ingest.claimOrigin(Self.am307) == .permit)
        #expect(ingest.permitWindow?.claimed == [Self.am307])
        #expect(try ingest.store.series(sensor: Self.am307, limit: 100).count == 7)

        // Not claimed on a guess: a payload the window's model cannot decode, one it decodes
        // only in part, and a basic-info frame (every model sends it) from an unnamed device.
        // Each stays discovered with its reason.
        let firmware = bytes("FF0A0110")
        ingest.take([uplink("24E1240000000001", fCnt: 1, payload: [0xFF, 0xFF, 0xFF])], topic: "t", payload: [], at: clock.unixTime)
        ingest.take([uplink("24E1240000000004", fCnt: 1, payload: bytes("01755C7777"))], topic: "t", payload: [], at: clock.unixTime)
        ingest.take([uplink("24E1240000000005", fCnt: 1, payload: firmware)], topic: "t", payload: [], at: clock.unixTime)
        // The device name names the model, but the payload is not an AM307's: still refused.
        ingest.take([uplink("24E1240000000006", fCnt: 1, name: "am307-room-5", payload: [0x01])], topic: "t", payload: [],
                    at: clock.unixTime)
        // A join's basic-info frame from a device the network server names as the model: claimed.
        ingest.take([uplink("24E1240000000002", fCnt: 1, name: "am307-room-4", payload: firmware)], topic: "t", payload: [],
                    at: clock.unixTime)
        #expect(ingest.sensors.map(\.devEUI) == ["24E1240000000002", Self.am307])
        let refused = try #require(ingest.permitWindow?.refused)
        #expect(refused.keys.sorted() == [
            "24E1240000000001", "24E1240000000004", "24E1240000000005", "24E1240000000006", Self.other,
        ])
        #expect(refused["24E1240000000001"]?.contains("does not decode as milesight AM307") == true)
        #expect(refused["24E1240000000004"]?.contains("only in part") == true)
        #expect(refused["24E1240000000005"]?.contains("no measurement") == true)
        let discovered = try #require(ingest.discoveredJSON()["discovered"]?.array)
        #expect(discovered.count == 5)  // Self.other from before the window, and the four refused
        let reason = discovered.first { $0["dev_eui"] == "24E1240000000004" }?["reason"]?.string ?? ""
        #expect(reason.hasPrefix("claim window for AM307 → hq/3/3.14 passed it over: decodes as milesight AM307 only in part"))
        #expect(discovered.first { $0["dev_eui"]?.string == Self.other }?["reason"]?.string?
            .hasSuffix("first heard before the window opened; if it is the one being installed, claim it by id") == true)

        clock.advance(by: .seconds(180))
        #expect(ingest.permitWindow == nil)
        ingest.take([uplink("24E1240000000003", fCnt: 1)], topic: "t", payload: [], at: clock.unixTime)
        #expect(ingest.sensors.count == 2)
        #expect(ingest.counters.permitClaims == 2)
    }

    @Test(arguments: [0.0, -5, 901, 3600])
    func permitWindowIsBounded(seconds: Double) throws {
        let ingest = try open()
        #expect(throws: DecodeError.self) {
            try ingest.openPermit(vendor: "milesight", model: "AM307", resource: "hq/1", seconds: seconds)
        }
        #expect(ingest.permitWindow == nil)
    }

    @Test func gatewayDecodedReportsAreStoredOnceByTheirKey() throws {
        let ingest = try open()
        try ingest.claim(Sensor(devEUI: "IRX-0042", vendor: "irisys", model: "Vector 4D", resource: "hq/lobby"))
        func report(_ key: String, inCount: Double) -> IngestMessage {
            .reading(DeviceMessage(
                device: "IRX-0042", vendor: "irisys", fields: [:],
                measurements: [Measurement(kind: .temperature, value: inCount, unit: "°C")],
                measuredAt: 1_800_000_000 - 60, dedupeKey: key))
        }
        ingest.take([report("r1|t1", inCount: 3), report("r1|t1", inCount: 3)], topic: "t", payload: [], at: clock.unixTime)
        ingest.flush()
        // A retained copy after a reconnect: same key, must not count twice.
        ingest.take([report("r1|t1", inCount: 3), report("r1|t2", inCount: 4)], topic: "t", payload: [], at: clock.unixTime)
        ingest.flush()
        let rows = try ingest.store.series(sensor: "IRX-0042", limit: 10)
        #expect(rows.map(\.value).sorted() == [3, 4])
        #expect(rows.allSatisfy { $0.resource == "hq/lobby" && $0.timestamp == 1_800_000_000 - 60 })
        #expect(ingest.counters.duplicates == 2)

        // Unclaimed gateway devices land in the discovered list with their vendor.
        ingest.take([.reading(DeviceMessage(device: "PRS-9", vendor: "pressac", model: "CT clamp", fields: [:],
                                            measurements: [], measuredAt: nil, dedupeKey: "a"))],
                    topic: "pressac/x", payload: Array("{}".utf8), at: clock.unixTime)
        ingest.flush()
        #expect(try ingest.store.discovered().map(\.devEUI) == ["PRS-9"])
    }

    @Test func batchesAreCommittedBySizeOrAgeAndRollupsEveryFewSeconds() throws {
        let ingest = try open()
        try ingest.claim(Sensor(devEUI: Self.am307, vendor: "milesight", model: "AM307", resource: "hq/1"))
        ingest.take([uplink(Self.am307, fCnt: 1)], topic: "t", payload: [], at: clock.unixTime)
        #expect(ingest.flushIfDue() == 0)  // young and small: wait for more
        clock.advance(by: .milliseconds(50))
        #expect(ingest.flushIfDue() == 7)
        #expect(try ingest.store.rollups(bucket: .quarterHour, limit: 10).isEmpty)  // deltas not yet due

        for fCnt in 2...300 {  // 2093 readings: past the size threshold at once
            ingest.take([uplink(Self.am307, fCnt: fCnt)], topic: "t", payload: [], at: clock.unixTime)
        }
        #expect(ingest.flushIfDue() == 2093)
        clock.advance(by: .seconds(5))
        #expect(ingest.flushIfDue() == 0)
        let co2 = try #require(try ingest.store.rollups(bucket: .quarterHour, kind: "co2", limit: 10).first)
        #expect(co2.count == 300)
        #expect(ingest.flushIfDue() == 0)
    }

    @Test func presenceIsRecordedPerDeviceNewestWins() throws {
        let ingest = try open()
        ingest.take([.presence(device: "IRX-0042", online: true, at: 100), .presence(device: "IRX-0042", online: false, at: 200)],
                    topic: "t", payload: [], at: clock.unixTime)
        ingest.flush()
        // A late Last Will from before the reconnect must not mark the device offline again.
        ingest.take([.presence(device: "IRX-0042", online: true, at: 300)], topic: "t", payload: [], at: clock.unixTime)
        ingest.take([.presence(device: "IRX-0042", online: false, at: 250)], topic: "t", payload: [], at: clock.unixTime)
        ingest.flush()
        let state = try #require(try ingest.store.presence().first)
        #expect(state.online && state.at == 300)
        #expect(ingest.counters.presence == 4)
    }
}
