import FleetJSON
import FleetTestSupport
import Testing

private let people = """
    email,display_name,role,badge,active
    ada@example.com,Ada Admin,admin,B-0001,true
    bob@example.com,Bob User,user,B-1001,true
    ina@example.com,Ina Inactive,user,B-2002,false

    """

/// Local overrides through the CLI and the API, decided over MQTT, surviving a sync; the audit API.
@Suite(.serialized) struct DirectoryOverridesEndToEndTests {
    private func cli(_ d: DaemonHarness, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let r = try ChildProcess.run(DaemonHarness.binary, arguments + ["--config", d.configPath], in: d.dir)
        return (r.status, r.output)
    }

    private func door(_ d: DaemonHarness, _ badge: String) throws -> JSON {
        try JSON.parse(d.mqttRequest(device: "door-lobby", op: "authorize",
                                     body: #"{"credential":{"type":"badge","value":"\#(badge)"}}"#))
    }

    @Test func aLostBadgeIsBlockedAtOnceSurvivesSyncsAndEverythingIsAudited() throws {
        let d = try DaemonHarness(people: people, extraConfig: """
            [[devices]]
            id = "door-lobby"
            kind = "checkin_panel"
            resource = "hq/lobby"
            """)
        try d.start()
        #expect(try door(d, "B-1001")["decision"] == "allow")

        let blocked = try cli(d, ["users", "block", "bob@example.com", "--note", "lost badge"])
        #expect(blocked.status == 0, "\(blocked.output)")
        #expect(try door(d, "B-1001")["reason"] == "blocked")
        #expect(try d.request("POST", "/api/v1/sync").status == 200)
        #expect(try door(d, "B-1001")["reason"] == "blocked")
        let shown = try JSON.parse(d.get("/api/v1/users/bob@example.com").body)
        #expect(shown["overrides"]?[0]?["kind"] == "block")
        #expect(shown["overrides"]?[0]?["note"] == "lost badge")
        #expect(try cli(d, ["users", "restore", "bob@example.com"]).status == 0)
        #expect(try door(d, "B-1001")["decision"] == "allow")

        #expect(try door(d, "B-2002")["reason"] == "inactive")
        let allowed = try cli(d, ["users", "allow", "ina@example.com", "--until", "2h"])
        #expect(allowed.status == 0, "\(allowed.output)")
        #expect(try door(d, "B-2002")["decision"] == "allow")
        #expect(try cli(d, ["users", "allow", "ina@example.com", "--until", "soon"]).status != 0)
        #expect(try d.request("POST", "/api/v1/users/ina@example.com/allow", body: "{}").status == 400)
        #expect(try d.request("POST", "/api/v1/users/nobody@example.com/block").status == 404)
        #expect(try d.request("POST", "/api/v1/users/bob@example.com/purge").status == 409)  // active

        let decisions = try JSON.parse(d.get("/api/v1/audit?limit=3").body)["entries"]?.array ?? []
        #expect(decisions.count == 3)
        #expect(decisions.first?["reason"] == "ok" && decisions.first?["device_id"] == "door-lobby")
        #expect(decisions.allSatisfy { $0["credential_hash"]?.string?.count == 64 })
        let audit = try cli(d, ["audit", "--admin"])
        let actions = try JSON.parse(audit.output)["entries"]?.array?.compactMap { $0["action"]?.string }
        #expect(actions == ["allow", "restore", "block"])

        #expect(try cli(d, ["users", "restore", "ina@example.com"]).status == 0)
        #expect(try cli(d, ["users", "purge", "ina@example.com"]).status == 0)
        #expect(try d.get("/api/v1/users/ina@example.com").status == 404)
        #expect(d.stop() == 0)
    }
}
