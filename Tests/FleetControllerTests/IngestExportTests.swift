import CFleetShims
import FleetJSON
import FleetLoop
import FleetTestSupport
import Foundation
import Testing

/// The analytics endpoint for these tests: NDJSON batches behind a bearer token, on
/// FleetLoop.HTTPServer in the test process, served while the test runs its reactor.
private final class AnalyticsEndpoint {
    var server: HTTPServer?
    var down = false
    var ids: [String] = []
    var refused = 0

    init(reactor: Reactor) throws {
        server = try HTTPServer(reactor: reactor, host: "127.0.0.1", port: 0) { [unowned self] req in
            guard req.method == "POST", req.header("authorization") == "Bearer export-token" else {
                return HTTPServerResponse(status: 401, headers: [], body: [])
            }
            if self.down {
                self.refused += 1
                return HTTPServerResponse(status: 503, headers: [], body: Array("down for maintenance".utf8))
            }
            for line in req.body.split(separator: 0x0A) {
                guard let id = (try? JSON.parse(Array(line)))?["id"]?.string else {
                    return HTTPServerResponse(status: 400, headers: [], body: [])
                }
                self.ids.append(id)
            }
            return HTTPServerResponse(status: 200, headers: [], body: [])
        }
    }

    var url: String { "http://127.0.0.1:\(server?.port ?? 0)/v1/readings" }
}

private let people = """
    email,display_name,role,badge,active
    ada@example.com,Ada Admin,admin,B-0001,true

    """

private func uplink(fCnt: Int, data: String = "A2fuAARofAUAAQbLAgd9qAMIfSUACXNmJw==") -> String {
    #"{"applicationID":1,"devEUI":"24e124710c123456","deviceName":"AM307","fCnt":\#(fCnt),"fPort":85,"data":"\#(data)","rxInfo":[{"mac":"24e124fffef54092","rssi":-51,"loRaSNR":13.8}]}"#
}

private let am307 = """
    [[sensors]]
    dev_eui = "24E124710C123456"
    vendor = "milesight"
    model = "AM307"
    resource = "hq/3/3.14"
    [[ingest.subscriptions]]
    topic = "milesight/uplink/#"
    format = "milesight-gateway"
    """

@Suite(.serialized) struct IngestExportTests {
    @Test func endpointDownForAWhileWithARestartLosesNothingAndSendsNothingTwice() throws {
        let reactor = try Reactor()
        let endpoint = try AnalyticsEndpoint(reactor: reactor)
        let d = try DaemonHarness(people: people, extraConfig: """
            \(am307)
            [export]
            url = "\(endpoint.url)"
            token_file = "TOKEN_FILE"
            """)
        try writeFile("\(d.dir)/export.token", "export-token\n", mode: 0o600)
        let config = try readFile(d.configPath).replacingOccurrences(of: "TOKEN_FILE", with: "\(d.dir)/export.token")
        try writeFile(d.configPath, config)
        try d.start()

        try d.publish(topic: "milesight/uplink/a", payload: uplink(fCnt: 1))
        #expect(try reactor.run(until: { endpoint.ids.count == 7 }, limit: .seconds(15)))

        endpoint.down = true
        try d.publish(topic: "milesight/uplink/a", payload: uplink(fCnt: 2))
        try d.publish(topic: "milesight/uplink/a", payload: uplink(fCnt: 3))
        #expect(try reactor.run(until: { endpoint.refused >= 1 }, limit: .seconds(15)))

        #expect(d.stop() == 0)
        try d.start()
        try d.publish(topic: "milesight/uplink/a", payload: uplink(fCnt: 4))
        #expect(try reactor.run(until: { endpoint.refused >= 3 }, limit: .seconds(15)))
        #expect(try d.get("/healthz").status == 200)  // a few failures are not yet a health problem

        endpoint.down = false
        #expect(try reactor.run(until: { endpoint.ids.count >= 28 }, limit: .seconds(30)))
        #expect(waitUntil(seconds: 10) {
            let m = (try? d.get("/metrics"))?.text ?? ""
            return m.contains("fleet_export_backlog 0") && m.contains("fleet_export_readings_total 21")
        })
        #expect(endpoint.ids.count == 28)
        #expect(Set(endpoint.ids).count == 28)
        #expect(d.stop() == 0)
    }

    @Test func roomDisplayShowsOccupancyWhenItChanges() throws {
        let d = try DaemonHarness(people: people, extraConfig: """
            \(am307)
            [[sensors]]
            dev_eui = "24E124406F079198"
            vendor = "milesight"
            model = "DS3604"
            resource = "hq/3/3.14"
            name = "Board room"
            [ingest]
            downlink_topic = "milesight/downlink/$deveui"
            """)
        try d.start()
        let sub = try ChildProcess("/usr/bin/stdbuf", [
            "-oL", "/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", "\(d.broker.port)", "-t", "milesight/downlink/#",
            "-C", "2", "-W", "20", "-v", "-d",
        ], logPath: "\(d.dir)/downlinks.log")
        #expect(waitUntil(seconds: 10) { sub.output.contains("SUBACK") })

        try d.publish(topic: "milesight/uplink/a", payload: uplink(fCnt: 1))  // PIR trigger
        #expect(waitUntil(seconds: 10) { sub.output.contains("milesight/downlink/24e124406f079198 {") })
        try d.publish(topic: "milesight/uplink/a", payload: uplink(fCnt: 2))  // still occupied: nothing sent
        try d.publish(topic: "milesight/uplink/a", payload: uplink(fCnt: 3, data: "BQAA"))  // PIR idle
        #expect(sub.wait() == 0)
        let frames = sub.output.split(separator: "\n").filter { $0.hasPrefix("milesight/downlink/24e124406f079198 ") }
        #expect(frames.count == 2)
        let messages = frames.compactMap { try? JSON.parse(Array($0.split(separator: " ", maxSplits: 1)[1].utf8)) }
        #expect(messages.first?["devEUI"] == "24E124406F079198")
        #expect(messages.first?["fPort"] == 85)
        #expect(messages.first?["confirmed"] == false)
        // FB 01 00 0A "Board room" FB 01 01 08 "Occupied"; then the same with "Free".
        #expect(messages.first?["data"] == .string(Data([0xFB, 0x01, 0x00, 0x0A] + Array("Board room".utf8)
            + [0xFB, 0x01, 0x01, 0x08] + Array("Occupied".utf8)).base64EncodedString()))
        #expect(messages.last?["data"] == .string(Data([0xFB, 0x01, 0x00, 0x0A] + Array("Board room".utf8)
            + [0xFB, 0x01, 0x01, 0x04] + Array("Free".utf8)).base64EncodedString()))
        let occupancy = try JSON.parse(d.get("/api/v1/occupancy").body)
        #expect(occupancy["resources"]?[0]?["occupied"] == false)
    }
}
