import FleetJSON
import Foundation
import FleetTestSupport
import Testing

private let people = """
    email,display_name,role,badge,active
    ada@example.com,Ada Admin,admin,B-0001,true

    """

/// The installer's claim window through the daemon, and a line counter's running totals turned
/// into a room's people count that survives a restart.
@Suite(.serialized) struct IngestClaimWindowEndToEndTests {
    static let vs133 = "24E12400000A1330"
    static let neighbour = "24E1240000000099"

    func json(_ d: DaemonHarness, _ path: String) -> JSON? {
        guard let r = try? d.get(path), r.status == 200 else { return nil }
        return try? JSON.parse(r.body)
    }

    /// A gateway uplink without `time` (dated on receipt, so it falls on today's count).
    static func uplink(_ devEUI: String, fCnt: Int, hex: String) -> String {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        let data = Data(bytes).base64EncodedString()
        return #"{"applicationID":1,"devEUI":"\#(devEUI.lowercased())","fCnt":\#(fCnt),"fPort":85,"data":"\#(data)"}"#
    }

    /// VS133 line 1: total in, total out (u32) and the period counts (u16), little-endian.
    static func line1(totalIn: UInt32, totalOut: UInt32, periodIn: UInt16, periodOut: UInt16) -> String {
        func le<T: FixedWidthInteger>(_ v: T) -> String {
            (0..<(T.bitWidth / 8)).map { String(format: "%02X", Int((v >> (8 * $0)) & 0xFF)) }.joined()
        }
        return "03D2" + le(totalIn) + "04D2" + le(totalOut) + "05CC" + le(periodIn) + le(periodOut)
    }

    func headcount(_ d: DaemonHarness, _ resource: String) -> JSON? {
        json(d, "/api/v1/occupancy")?["resources"]?.array?.first { $0["resource"]?.string == resource }?["people"]
    }

    @Test func permitClaimsTheNewCounterOnlyAndItsTotalsCountPeople() throws {
        let d = try DaemonHarness(people: people, extraConfig: """
            [[ingest.subscriptions]]
            topic = "milesight/uplink/#"
            format = "milesight-gateway"
            """)
        try d.start()
        let opened = Date().timeIntervalSince1970
        let permit = try ChildProcess.run(DaemonHarness.binary, [
            "sensors", "permit", "--seconds", "180", "--model", "VS133", "--resource", "hq/2/2.10", "--config", d.configPath,
        ], in: d.dir)
        #expect(permit.status == 0, "\(permit.output)")
        let window = try JSON.parse(permit.output)
        #expect(window["open"] == true)
        #expect(window["model"] == "VS133")
        let until = window["until"]?.double ?? 0
        #expect(until >= opened + 179 && until <= Date().timeIntervalSince1970 + 181, "expires 180 s after opening")
        #expect((170...180).contains(window["remaining_s"]?.double ?? 0))
        let tooLong = try ChildProcess.run(DaemonHarness.binary, [
            "sensors", "permit", "--seconds", "901", "--model", "VS133", "--resource", "hq/2/2.10", "--config", d.configPath,
        ], in: d.dir)
        #expect(tooLong.status != 0)

        // A neighbour's AM307 joins during the window: not a VS133's payload, so not claimed.
        let am307 = "0367EE0004687C05000106CB02077DA803087D250009736627"
        try d.publish(topic: "milesight/uplink/x", payload: Self.uplink(Self.neighbour, fCnt: 1, hex: am307))
        // The new counter: lifetime totals 1000 in / 990 out are a baseline, not people.
        try d.publish(topic: "milesight/uplink/x", payload: Self.uplink(
            Self.vs133, fCnt: 1, hex: Self.line1(totalIn: 1000, totalOut: 990, periodIn: 0, periodOut: 0)))
        #expect(waitUntil(seconds: 10) {
            json(d, "/api/v1/sensors/permit")?["claimed"]?.array?.compactMap(\.string) == [Self.vs133]
        })
        try d.publish(topic: "milesight/uplink/x", payload: Self.uplink(
            Self.vs133, fCnt: 2, hex: Self.line1(totalIn: 1004, totalOut: 991, periodIn: 4, periodOut: 1)))
        #expect(waitUntil(seconds: 10) { headcount(d, "hq/2/2.10") == 3 })

        let sensors = json(d, "/api/v1/sensors")?["sensors"]?.array ?? []
        #expect(sensors.map { $0["dev_eui"]?.string ?? "" } == [Self.vs133])
        #expect(sensors.first?["origin"] == "permit")
        #expect(sensors.first?["resource"] == "hq/2/2.10")
        let ins = json(d, "/api/v1/telemetry?sensor=\(Self.vs133)&kind=people_in")?["readings"]?.array ?? []
        #expect(ins.compactMap { $0["value"]?.double } == [4, 0])
        let discovered = json(d, "/api/v1/sensors/discovered")?["discovered"]?.array ?? []
        #expect(discovered.map { $0["dev_eui"]?.string ?? "" } == [Self.neighbour])
        let reason = discovered.first?["reason"]?.string ?? ""
        #expect(reason.contains("claim window for VS133 → hq/2/2.10 passed it over: decodes as milesight VS133 only in part"),
                "\(reason)")

        // After a restart the stored totals carry on: 2 in, 3 out since the last uplink.
        #expect(d.stop() == 0)
        try d.start()
        try d.publish(topic: "milesight/uplink/x", payload: Self.uplink(
            Self.vs133, fCnt: 3, hex: Self.line1(totalIn: 1006, totalOut: 994, periodIn: 2, periodOut: 3)))
        #expect(waitUntil(seconds: 10) { headcount(d, "hq/2/2.10") == 2 })
        let outs = json(d, "/api/v1/telemetry?sensor=\(Self.vs133)&kind=people_out")?["readings"]?.array ?? []
        #expect(outs.compactMap { $0["value"]?.double } == [3, 1, 0])
        #expect(json(d, "/api/v1/sensors/permit")?["open"] == false, "a window does not outlive the daemon")
        #expect(d.stop() == 0)
    }
}
