import FleetJSON
import FleetLoop
import FleetTestSupport
import GraphStandIn
import Testing

/// Check-ins over MQTT: stored before the reply, idempotent on the panel's event id, and
/// delivered to the cloud endpoint once, across an outage and a daemon restart.
@Suite(.serialized) struct DirectoryCheckinEndToEndTests {
    @Test func aCheckinReachesTheCloudExactlyOnceThroughAnOutageAndARestart() throws {
        let loop = try Reactor()
        let cloud = try CloudStandIn(reactor: loop)
        let url = cloud.url
        cloud.stop()
        let files = TemporaryDirectory("fc-checkin-e2e")
        try files.write("token", "cloud-secret\n")
        let d = try DaemonHarness(people: """
            email,display_name,role,badge,active
            ada@example.com,Ada Admin,admin,B-0001,true
            bob@example.com,Bob User,user,B-1001,true

            """, extraConfig: """
            [[devices]]
            id = "door-lobby"
            kind = "checkin_panel"
            resource = "hq/lobby"
            [directory]
            checkin_url = "\(url)"
            checkin_token_file = "\(files.file("token"))"
            """)
        try d.start()
        func checkin(_ event: String, _ badge: String = "B-1001") throws -> JSON {
            try JSON.parse(d.mqttRequest(device: "door-lobby", op: "checkin", body: """
                {"event_id":"\(event)","credential":{"type":"badge","value":"\(badge)"},"ts":1800000000}
                """))
        }
        let first = try checkin("e-1")
        #expect(first["decision"] == "allow" && first["stored"] == true && first["duplicate"] == false, "\(first)")
        #expect(try checkin("e-1")["duplicate"] == true)  // the panel's retry
        #expect(try checkin("e-2", "B-9999")["stored"] == false)
        let missing = try JSON.parse(d.mqttRequest(device: "door-lobby", op: "checkin",
                                                   body: #"{"credential":{"type":"badge","value":"B-1001"}}"#))
        #expect(missing["error"] == "bad_request")
        #expect(try JSON.parse(d.get("/api/v1/status").body)["directory"]?["checkins_pending"] == 1)

        // Restart while the cloud is still down; the check-in waits in directory.sqlite.
        #expect(d.stop() == 0)
        try d.start()
        #expect(try checkin("e-1")["duplicate"] == true)

        try cloud.listen()
        let delivered = try loop.run(until: { !cloud.accepted.isEmpty }, limit: .seconds(20))
        #expect(delivered, "\(d.log)")
        #expect(cloud.accepted == ["door-lobby:e-1"])
        #expect(cloud.authorizations.last == "Bearer cloud-secret")
        #expect(try checkin("e-1")["duplicate"] == true)
        #expect(try checkin("e-3")["stored"] == true)
        _ = try loop.run(until: { cloud.accepted.count >= 2 }, limit: .seconds(10))
        _ = try loop.run(until: { false }, limit: .milliseconds(200))
        #expect(cloud.accepted == ["door-lobby:e-1", "door-lobby:e-3"])
        #expect(try JSON.parse(d.get("/api/v1/status").body)["directory"]?["checkins_pending"] == 0)
        #expect(d.stop() == 0)
    }
}
