import FleetJSON
import Foundation
import FleetTestSupport
import Testing

private let people = """
    email,display_name,role,badge,active
    ada@example.com,Ada Admin,admin,B-0001,true

    """

/// The installer's claim window through the daemon (also across restarts), and a line counter's
/// running totals turned into a room's people count that survives a restart, for one door or two.
@Suite(.serialized) struct IngestClaimWindowEndToEndTests {
    static let vs133 = "24E12400000A1330"
    static let neighbour = "24E1240000000099"

    /// A daemon that reads Milesight gateway uplinks from `milesight/uplink/#`.
    func gatewayDaemon() throws -> DaemonHarness {
        try DaemonHarness(people: people, extraConfig: """
            [[ingest.subscriptions]]
            topic = "milesight/uplink/#"
            format = "milesight-gateway"
            """)
    }

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
        return line(1, totalIn: totalIn, totalOut: totalOut, periodIn: periodIn, periodOut: periodOut)
    }

    /// VS133 line N (channels 0x03 + 3(N−1) …): totals u32 and period counts u16, little-endian.
    static func line(_ n: Int, totalIn: UInt32, totalOut: UInt32, periodIn: UInt16, periodOut: UInt16) -> String {
        func le<T: FixedWidthInteger>(_ v: T) -> String {
            (0..<(T.bitWidth / 8)).map { String(format: "%02X", Int((v >> (8 * $0)) & 0xFF)) }.joined()
        }
        let base = 0x03 + 3 * (n - 1)
        return String(format: "%02XD2", base) + le(totalIn) + String(format: "%02XD2", base + 1) + le(totalOut)
            + String(format: "%02XCC", base + 2) + le(periodIn) + le(periodOut)
    }

    func cli(_ d: DaemonHarness, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let run = try ChildProcess.run(DaemonHarness.binary, arguments + ["--config", d.configPath], in: d.dir)
        return (run.status, run.output)
    }

    func headcount(_ d: DaemonHarness, _ resource: String) -> JSON? {
        json(d, "/api/v1/occupancy")?["resources"]?.array?.first { $0["resource"]?.string == resource }?["people"]
    }

    @Test func permitClaimsTheNewCounterOnlyAndItsTotalsCountPeople() throws {
        let d = try gatewayDaemon()
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
        // The window outlived the restart with the time it had left; what it passed over is
        // judged afresh.
        let reopened = json(d, "/api/v1/sensors/permit")
        #expect(reopened?["open"] == true)
        #expect(reopened?["until"]?.double == until, "the same absolute expiry")
        #expect(reopened?["refused"] == .object([:]))
        #expect(d.stop() == 0)
    }

    /// A window open when the daemon stops is open again after the start, with the time it had
    /// left, and claims a device of its model that first appears then; `--close` ends it for good.
    @Test func windowSurvivesARestartAndClaimsANewDevice() throws {
        let d = try gatewayDaemon()
        try d.start()
        let permit = try cli(d, ["sensors", "permit", "--seconds", "600", "--model", "VS133", "--resource", "hq/3/3.02"])
        #expect(permit.status == 0, "\(permit.output)")
        let until = try JSON.parse(permit.output)["until"]?.double ?? 0
        #expect(d.stop() == 0)

        try d.start()
        let window = json(d, "/api/v1/sensors/permit")
        #expect(window?["open"] == true, "\(d.log)")
        #expect(window?["model"] == "VS133")
        #expect(window?["resource"] == "hq/3/3.02")
        #expect(window?["until"]?.double == until)
        #expect((1...600).contains(window?["remaining_s"]?.double ?? 0))
        #expect(d.log.contains("claim window reopened"))
        try d.publish(topic: "milesight/uplink/x", payload: Self.uplink(
            Self.vs133, fCnt: 1, hex: Self.line1(totalIn: 10, totalOut: 9, periodIn: 1, periodOut: 0)))
        #expect(waitUntil(seconds: 10) {
            json(d, "/api/v1/sensors/permit")?["claimed"]?.array?.compactMap(\.string) == [Self.vs133]
        })
        let sensors = json(d, "/api/v1/sensors")?["sensors"]?.array ?? []
        #expect(sensors.map { $0["dev_eui"]?.string ?? "" } == [Self.vs133])
        #expect(sensors.first?["origin"] == "permit")
        #expect(sensors.first?["resource"] == "hq/3/3.02")

        let close = try cli(d, ["sensors", "permit", "--close"])
        #expect(close.status == 0, "\(close.output)")
        #expect(try JSON.parse(close.output)["open"] == false)
        #expect(d.stop() == 0)
        try d.start()
        #expect(json(d, "/api/v1/sensors/permit")?["open"] == false, "a closed window stays closed")
        #expect(d.stop() == 0)
    }

    /// A window for a two-door room lists lines 1 and 2 (checked as a claim's are), keeps them
    /// across a restart, and claims the VS133 that appears with them: its next uplink's people_in
    /// is the sum of both lines.
    @Test func windowWithLinesClaimsACounterOfATwoDoorRoom() throws {
        let d = try gatewayDaemon()
        try d.start()
        for (body, reason) in [
            (#"{"model":"AM307","resource":"hq/2/2.40","lines":[1]}"#, "only a VS133 or VS135 has counting lines"),
            (#"{"model":"VS133","resource":"hq/2/2.40","lines":[1,5]}"#, "line 5 does not exist"),
            (#"{"model":"VS133","resource":"hq/2/2.40","lines":[]}"#, "an empty list counts no one"),
            (#"{"model":"VS133","resource":"hq/2/2.40","lines":"1,2"}"#, "lines must be a list of line numbers"),
        ] {
            let refused = try d.request("POST", "/api/v1/sensors/permit", body: body)
            #expect(refused.status == 400, "\(body)")
            let text = String(decoding: refused.body, as: UTF8.self)
            #expect(text.contains(reason), "\(text)")
        }
        #expect(json(d, "/api/v1/sensors/permit")?["open"] == false, "a refused window is not opened")
        let wrongModel = try cli(d, ["sensors", "permit", "--model", "AM307", "--resource", "hq/2/2.40", "--line", "1"])
        #expect(wrongModel.status != 0)
        #expect(wrongModel.output.contains("only a VS133 or VS135 has counting lines"), "\(wrongModel.output)")

        let permit = try cli(d, [
            "sensors", "permit", "--seconds", "600", "--model", "VS133", "--resource", "hq/2/2.40", "--line", "2", "--line", "1",
        ])
        #expect(permit.status == 0, "\(permit.output)")
        #expect(try JSON.parse(permit.output)["lines"] == [1, 2])
        #expect(d.stop() == 0)

        try d.start()
        let shown = try cli(d, ["sensors", "permit", "--show"])
        #expect(shown.status == 0, "\(shown.output)")
        #expect(try JSON.parse(shown.output)["lines"] == [1, 2], "the reopened window keeps its lines")
        // The claiming uplink: both lines' totals are baselines, their period counts count: 3 in.
        try d.publish(topic: "milesight/uplink/x", payload: Self.uplink(Self.vs133, fCnt: 1, hex:
            Self.line(1, totalIn: 100, totalOut: 90, periodIn: 2, periodOut: 0)
                + Self.line(2, totalIn: 50, totalOut: 40, periodIn: 1, periodOut: 1)))
        #expect(waitUntil(seconds: 10) {
            json(d, "/api/v1/sensors/permit")?["claimed"]?.array?.compactMap(\.string) == [Self.vs133]
        })
        let listed = json(d, "/api/v1/sensors")?["sensors"]?.array?.first
        #expect(listed?["origin"] == "permit")
        #expect(listed?["lines"] == [1, 2])
        // The next: each line's totals moved, 4 + 3 in and 1 + 1 out; the room has 3 + 7 − 3.
        try d.publish(topic: "milesight/uplink/x", payload: Self.uplink(Self.vs133, fCnt: 2, hex:
            Self.line(1, totalIn: 104, totalOut: 91, periodIn: 4, periodOut: 1)
                + Self.line(2, totalIn: 53, totalOut: 41, periodIn: 3, periodOut: 1)))
        #expect(waitUntil(seconds: 10) { headcount(d, "hq/2/2.40") == 7 })
        let ins = json(d, "/api/v1/telemetry?sensor=\(Self.vs133)&kind=people_in")?["readings"]?.array ?? []
        #expect(ins.compactMap { $0["value"]?.double } == [7, 3])
        #expect(d.stop() == 0)
    }

    /// A room with two doors: a VS133 claimed from the CLI with lines 1 and 2 sums both lines'
    /// crossings into the room's readings and people count.
    @Test func twoDoorRoomCountsBothLines() throws {
        let d = try gatewayDaemon()
        try d.start()
        let wrongModel = try cli(d, [
            "sensors", "claim", Self.neighbour, "--model", "AM307", "--resource", "hq/2/2.20", "--line", "2",
        ])
        #expect(wrongModel.status != 0)
        #expect(wrongModel.output.contains("only a VS133 or VS135 has counting lines"), "\(wrongModel.output)")
        let outOfRange = try d.request("POST", "/api/v1/sensors", body: """
            {"dev_eui":"\(Self.vs133)","vendor":"milesight","model":"VS133","resource":"hq/2/2.20","lines":[1,5]}
            """)
        #expect(outOfRange.status == 400)
        let refusal = String(decoding: outOfRange.body, as: UTF8.self)
        #expect(refusal.contains("line 5 does not exist"), "\(refusal)")
        let claim = try cli(d, [
            "sensors", "claim", Self.vs133, "--model", "VS133", "--resource", "hq/2/2.20", "--line", "1", "--line", "2",
        ])
        #expect(claim.status == 0, "\(claim.output)")
        let listed = json(d, "/api/v1/sensors")?["sensors"]?.array?.first
        #expect(listed?["lines"] == [1, 2])

        // First uplink: both lines' totals are baselines, their period counts count: 3 in, 1 out.
        try d.publish(topic: "milesight/uplink/x", payload: Self.uplink(Self.vs133, fCnt: 1, hex:
            Self.line(1, totalIn: 100, totalOut: 90, periodIn: 2, periodOut: 0)
                + Self.line(2, totalIn: 50, totalOut: 40, periodIn: 1, periodOut: 1)))
        #expect(waitUntil(seconds: 10) { headcount(d, "hq/2/2.20") == 2 })
        // Second: each line's totals moved (4 + 3 in, 1 + 1 out); the room has 2 + 7 − 2.
        try d.publish(topic: "milesight/uplink/x", payload: Self.uplink(Self.vs133, fCnt: 2, hex:
            Self.line(1, totalIn: 104, totalOut: 91, periodIn: 4, periodOut: 1)
                + Self.line(2, totalIn: 53, totalOut: 41, periodIn: 3, periodOut: 1)))
        #expect(waitUntil(seconds: 10) { headcount(d, "hq/2/2.20") == 7 })
        let ins = json(d, "/api/v1/telemetry?sensor=\(Self.vs133)&kind=people_in")?["readings"]?.array ?? []
        let outs = json(d, "/api/v1/telemetry?sensor=\(Self.vs133)&kind=people_out")?["readings"]?.array ?? []
        #expect(ins.compactMap { $0["value"]?.double } == [7, 3])
        #expect(outs.compactMap { $0["value"]?.double } == [2, 1])
        let room = json(d, "/api/v1/occupancy")?["resources"]?.array?.first { $0["resource"]?.string == "hq/2/2.20" }
        #expect(room?["occupied"] == true)
        #expect(d.stop() == 0)
    }
}
