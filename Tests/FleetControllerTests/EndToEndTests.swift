import CFleetShims
import FleetJSON
import FleetTestSupport
import Testing

private let people = """
    email,display_name,role,badge,active
    ada@example.com,Ada Admin,admin,B-0001,true
    bob@example.com,Bob User,user,B-1001,true
    ina@example.com,Ina Inactive,user,B-2002,false

    """

private let inventory = """
    [[devices]]
    id = "door-lobby"
    kind = "checkin_panel"
    resource = "hq/lobby"
    [[sensors]]
    dev_eui = "24E124710C123456"
    vendor = "milesight"
    model = "AM307"
    resource = "hq/3/3.14"
    [[ingest.subscriptions]]
    topic = "milesight/uplink/#"
    format = "milesight-gateway"
    """

/// An AM307 uplink (README example: 23.8 °C, 62 %RH, co2 936 ppm …) in the UG65 gateway envelope.
private func uplink(fCnt: Int, data: String = "A2fuAARofAUAAQbLAgd9qAMIfSUACXNmJw==") -> String {
    #"{"applicationID":1,"devEUI":"24e124710c123456","deviceName":"AM307","fCnt":\#(fCnt),"fPort":85,"data":"\#(data)","time":"2026-11-21T05:00:00.000000Z","rxInfo":[{"mac":"24e124fffef54092","rssi":-51,"loRaSNR":13.8}]}"#
}

/// The daemon binary against a real mosquitto, driven as a panel, a gateway and an operator would.
@Suite(.serialized) struct EndToEndTests {
    @Test func panelGetsAllowForActiveUserAndDenyForInactiveOrUnknownBadge() throws {
        let d = try DaemonHarness(people: people, extraConfig: inventory)
        try d.start()
        let allow = try JSON.parse(d.mqttRequest(device: "door-lobby", op: "authorize",
                                                 body: #"{"credential":{"type":"badge","value":"B-1001"},"action":"checkin"}"#))
        #expect(allow["decision"] == "allow")
        #expect(allow["user"]?["email"] == "bob@example.com")
        #expect(allow["role"] == "user")
        #expect(allow["cache_age_s"]?.double != nil)
        #expect(allow["user"]?["badge"] == nil)  // the badge itself never leaves the box

        let inactive = try JSON.parse(d.mqttRequest(device: "door-lobby", op: "authorize",
                                                    body: #"{"credential":{"type":"badge","value":"B-2002"}}"#))
        #expect(inactive["decision"] == "deny")
        #expect(inactive["reason"] == "inactive")

        let unknown = try JSON.parse(d.mqttRequest(device: "door-lobby", op: "authorize",
                                                   body: #"{"credential":{"type":"badge","value":"B-9999"}}"#))
        #expect(unknown["reason"] == "unknown_credential")

        let strangerDevice = try JSON.parse(d.mqttRequest(device: "door-nowhere", op: "authorize",
                                                          body: #"{"credential":{"type":"badge","value":"B-1001"}}"#))
        #expect(strangerDevice["decision"] == "deny")
        #expect(strangerDevice["reason"] == "device_not_allowed")

        // The same decision over HTTP.
        let http = try d.request("POST", "/api/v1/authorize",
                                 body: #"{"credential":{"type":"email","value":"BOB@example.com"},"device_id":"door-lobby","action":"checkin"}"#)
        #expect(http.status == 200)
        #expect(try JSON.parse(http.body)["decision"] == "allow")
        #expect(d.stop() == 0)
    }

    @Test func mqtt311PanelUsesReplyToInTheBody() throws {
        let d = try DaemonHarness(people: people, extraConfig: inventory)
        try d.start()
        let reply = try JSON.parse(d.mqttRequest(
            device: "door-lobby", op: "authorize",
            body: #"{"credential":{"type":"badge","value":"B-0001"},"reply_to":"fc/v1/dev/door-lobby/down/rpc","id":"r-1"}"#,
            version: 311))
        #expect(reply["decision"] == "allow")
        #expect(reply["role"] == "admin")
        #expect(reply["id"] == "r-1")
    }

    @Test func uplinkFromTheGatewayAppearsInTelemetry() throws {
        let d = try DaemonHarness(people: people, extraConfig: inventory)
        try d.start()
        try d.publish(topic: "milesight/uplink/24e124710c123456", payload: uplink(fCnt: 1))
        var readings: [JSON] = []
        #expect(waitUntil(seconds: 10) {
            let r = try? d.get("/api/v1/telemetry?sensor=24E124710C123456")
            readings = (try? JSON.parse(r?.body ?? []))?["readings"]?.array ?? []
            return readings.count >= 7
        })
        let co2 = readings.first { $0["kind"] == "co2" }
        #expect(co2?["value"] == 936)
        #expect(co2?["unit"] == "ppm")
        #expect(co2?["resource"] == "hq/3/3.14")
        #expect(readings.first { $0["kind"] == "temperature" }?["value"] == 23.8)

        // The same uplink again (a second gateway heard it) is stored once.
        try d.publish(topic: "milesight/uplink/24e124710c123456", payload: uplink(fCnt: 1))
        try d.publish(topic: "milesight/uplink/24e124710c123456", payload: uplink(fCnt: 2))
        #expect(waitUntil(seconds: 10) {
            let r = try? d.get("/api/v1/telemetry?sensor=24E124710C123456&kind=co2")
            return (try? JSON.parse(r?.body ?? []))?["readings"]?.array?.count == 2
        })
    }

    @Test func badInputGetsClearErrorsAndTheDaemonKeepsServing() throws {
        let d = try DaemonHarness(people: people, extraConfig: inventory)
        try d.start()
        // Undecodable uplink, non-JSON, unknown device: counted, not fatal.
        try d.publish(topic: "milesight/uplink/x", payload: uplink(fCnt: 9, data: "A2c="))
        try d.publish(topic: "milesight/uplink/x", payload: "not json at all")
        try d.publish(topic: "milesight/uplink/x", payload: #"{"devEUI":"0000000000000001","fPort":85,"data":"AXVc","fCnt":1}"#)
        #expect(waitUntil(seconds: 10) {
            let m = (try? d.get("/metrics"))?.text ?? ""
            return m.contains("fleet_ingest_messages_total{outcome=\"dead_letter\"} 2")
                && m.contains("fleet_ingest_messages_total{outcome=\"unknown_device\"} 1")
                && m.contains("fleet_loop_urgent_dispatches_total ")
        }, "\((try? d.get("/metrics"))?.text ?? "")")
        let discovered = try JSON.parse(d.get("/api/v1/sensors/discovered").body)
        #expect(discovered["discovered"]?[0]?["dev_eui"] == "0000000000000001")

        // Malformed JSON request over HTTP: 400 naming the byte.
        let bad = try d.request("POST", "/api/v1/authorize", body: #"{"credential": }"#)
        #expect(bad.status == 400)
        let err = try JSON.parse(bad.body)
        #expect(err["error"] == "bad_request")
        #expect(err["message"]?.string?.contains("byte 15") == true)

        // Malformed JSON over MQTT: an error reply, not silence.
        let mqttBad = try JSON.parse(d.mqttRequest(device: "door-lobby", op: "authorize", body: "{oops"))
        #expect(mqttBad["error"] == "bad_request")

        // No token, wrong token.
        #expect(try d.request("GET", "/api/v1/status", token: "nope").status == 401)

        // A broken CSV replaces a good one: nothing changes, the run is failed with the line.
        try writeFile("\(d.dir)/people.csv", "email,display_name,role,badge,active\nbob@example.com,Bob,user,B-1001,maybe\n")
        let sync = try JSON.parse(d.request("POST", "/api/v1/sync").body)
        #expect(sync["runs"]?[0]?["status"] == "failed")
        #expect(sync["runs"]?[0]?["reason"]?.string?.contains("people.csv:2: column active") == true, "\(sync)")
        let still = try JSON.parse(d.mqttRequest(device: "door-lobby", op: "authorize",
                                                 body: #"{"credential":{"type":"badge","value":"B-0001"}}"#))
        #expect(still["decision"] == "allow")
        let health = try d.get("/healthz")
        #expect(health.status == 503)
        #expect(health.text.contains("badges"))
        #expect(d.isRunning)
        #expect(d.threadCount == 1)
    }

    @Test func statusAndUsersOverTheAdminAPI() throws {
        let d = try DaemonHarness(people: people, extraConfig: inventory)
        try d.start()
        let status = try JSON.parse(d.get("/api/v1/status").body)
        #expect(status["broker"]?["connected"] == true)
        #expect(status["directory"]?["sources"]?["badges"]?["status"] == "succeeded")
        #expect(status["loop_lag_ms"]?["p99"]?.double != nil)
        let user = try JSON.parse(d.get("/api/v1/users/ada@example.com").body)
        #expect(user["role"] == "admin")
        #expect(user["badge_set"] == true)
        #expect(try d.get("/api/v1/users/nobody@example.com").status == 404)
        let search = try JSON.parse(d.get("/api/v1/users?q=bo").body)
        #expect(search["users"]?.array?.map { $0["email"] } == ["bob@example.com"])
        let runs = try JSON.parse(d.get("/api/v1/sync/runs").body)
        #expect(runs["runs"]?[0]?["status"] == "succeeded")
        // The admin token file is private.
        var st = stat()
        stat("\(d.dir)/state/admin.token", &st)
        #expect(st.st_mode & 0o077 == 0)
    }

    @Test func sighupReloadsDevicesAndABadReloadKeepsTheRunningConfig() throws {
        let d = try DaemonHarness(people: people, extraConfig: inventory)
        try d.start()
        let before = try JSON.parse(d.mqttRequest(device: "door-side", op: "authorize",
                                                  body: #"{"credential":{"type":"badge","value":"B-1001"}}"#))
        #expect(before["reason"] == "device_not_allowed")
        let good = try readFile(d.configPath) + "\n[[devices]]\nid = \"door-side\"\nkind = \"checkin_panel\"\nresource = \"hq/side\"\n"
        try writeFile(d.configPath, good)
        d.signal(SIGHUP)
        #expect(waitUntil(seconds: 10) {
            let r = try? JSON.parse(d.mqttRequest(device: "door-side", op: "authorize",
                                                  body: #"{"credential":{"type":"badge","value":"B-1001"}}"#))
            return r?["decision"] == "allow"
        })
        try writeFile(d.configPath, good + "\n[[devices]]\nid = \"door-x\"\nkind = \"toaster\"\nresource = \"hq/x\"\n")
        d.signal(SIGHUP)
        #expect(waitUntil(seconds: 10) { d.log.contains("configuration not reloaded") })
        #expect(d.log.contains("devices[2].kind"))
        #expect(d.isRunning)
    }

    @Test func brokenConfigExitsWithTheLineAndKey() throws {
        let dir = makeTempDir()
        defer { removeTree(dir) }
        try writeFile("\(dir)/c.toml", "[http]\nlisten = \"nowhere\"\n")
        let r = try ChildProcess.run(DaemonHarness.binary, ["run", "--config", "\(dir)/c.toml"], in: dir)
        #expect(r.status == 78)
        #expect(r.output.contains("\(dir)/c.toml:2: http.listen"))
    }

    @Test func decodeCommandPrintsVendorFieldsAndFailsWithExitCode2() throws {
        let dir = makeTempDir()
        defer { removeTree(dir) }
        let ok = try ChildProcess.run(DaemonHarness.binary, ["decode", "--vendor", "milesight", "--model", "AM307",
                                                              "0367EE0004687C05000106CB02077DA803087D250009736627"], in: dir)
        #expect(ok.status == 0)
        let json = try JSON.parse(ok.output)
        #expect(json["temperature"] == 23.8)
        #expect(json["pir"] == "trigger")
        #expect(json["tvoc"] == 0.37)
        let bad = try ChildProcess.run(DaemonHarness.binary, ["decode", "--vendor", "milesight", "--model", "AM307", "0367EE"], in: dir)
        #expect(bad.status == 2)
        #expect(bad.output.contains("at byte 0"))
        let noModel = try ChildProcess.run(DaemonHarness.binary, ["decode", "--vendor", "milesight", "0367EE00"], in: dir)
        #expect(noModel.status == 2)
        #expect(noModel.output.contains("--model is required"))

        // Gateway JSON for the vendors whose gateways decode themselves.
        let irisys = try ChildProcess.run(DaemonHarness.binary, ["decode", "--vendor", "irisys", "--topic", "irisys/V4D-1/counts", "[]"], in: dir)
        #expect(irisys.status == 0)
        #expect(try JSON.parse(irisys.output)["messages"]?[0]?["presence"] == "online")
        let pressac = try ChildProcess.run(DaemonHarness.binary, ["decode", "--vendor", "pressac", "--model", "SR_LIN_RCS",
                                                                   "--fport", "60", "0620130031825A55015E"], in: dir)
        #expect(pressac.status == 0)
        #expect(try JSON.parse(pressac.output)["temperature"]?["value"] == 22.5)
    }
}
