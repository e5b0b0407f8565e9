import Foundation
import FleetJSON
import FleetTestSupport
import Testing

/// The daemon pairs panels through a real mosquitto with dynsec: installer via CLI and API, panels
/// via the bootstrap account and then their own.
@Suite(.serialized) struct PairingEndToEndTests {
    @Test func installerPairsAPanelWithTheCLIAndItWorksWithItsOwnAccount() throws {
        let p = try PairingDaemon()
        try p.start()
        #expect(try !p.panelCanConnect("door-3"))
        try p.hello("door-3", code: "BCDF-GHJK")
        let listed = try p.await("/api/v1/pairings") { $0["pending"]?.array?.count == 1 }
        #expect(listed["pending"]?[0]?["device_id"] == "door-3")
        #expect(listed["pending"]?[0]?["fingerprint"] == "F00D-3")
        #expect(listed["pending"]?[0]?["code"] == nil)  // the code is only on the panel's screen
        #expect(listed["attempts_left"] == 5)
        #expect(try p.daemon.get("/").text.contains("Pair a panel"))

        let r = try p.cli(["pair", "bcdf ghjk", "--resource", "hq/3/door", "--name", "Door 3", "--yes"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("Fingerprint: F00D-3"))
        let device = try p.api("GET", "/api/v1/devices/door-3").json
        #expect(device["resource"] == "hq/3/door")
        #expect(device["origin"] == "paired")
        #expect(device["model"] == "CP-2")
        #expect(try p.panelCanConnect("door-3"))
        let shown = try p.cli(["devices", "door-3"])
        #expect(shown.status == 0 && shown.output.contains("\"resource\":\"hq/3/door\""), "\(shown.output)")
        // The paired panel asks the controller over its own account, and is known now.
        let reply = try p.panelRequest("door-3", op: "authorize", body: #"{"credential":{"type":"badge","value":"B-1001"}}"#)
        #expect(reply["decision"] == "allow", "\(reply)")
        #expect(try p.api("GET", "/api/v1/pairings").json["pending"]?.array?.count == 0)

        // Unpair from the CLI: the account goes at once.
        let u = try p.cli(["devices", "unpair", "door-3"])
        #expect(u.status == 0, "\(u.output)")
        #expect(try !p.panelCanConnect("door-3"))
        #expect(try p.api("GET", "/api/v1/devices/door-3").status == 404)
    }

    @Test func wrongCodesAreLimitedAndBadHellosAreCounted() throws {
        let p = try PairingDaemon(extraConfig: "")
        try p.start()
        try p.hello("kiosk-1", code: "LMNP-QRST")
        _ = try p.await("/api/v1/pairings") { $0["pending"]?.array?.count == 1 }
        let first = try p.api("POST", "/api/v1/pairings", #"{"code":"BBBB-BBBB","resource":"hq/1"}"#)
        #expect(first.status == 404)
        #expect(first.json["error"] == "wrong_code")
        #expect(first.json["attempts_left"] == 4)
        let malformed = try p.api("POST", "/api/v1/pairings", #"{"code":"1234","resource":"hq/1"}"#)
        #expect(malformed.status == 400)
        for _ in 0..<3 { _ = try p.api("POST", "/api/v1/pairings", #"{"code":"CCCC-CCCC","resource":"hq/1"}"#) }
        let fifth = try p.api("POST", "/api/v1/pairings", #"{"code":"DDDD-DDDD","resource":"hq/1"}"#)
        #expect(fifth.status == 429)
        #expect(fifth.json["error"] == "cooling_down")
        let right = try p.api("POST", "/api/v1/pairings", #"{"code":"LMNP-QRST","resource":"hq/1"}"#)
        #expect(right.status == 429)
        #expect((right.json["retry_after_s"]?.double ?? 0) > 500)
        let state = try p.api("GET", "/api/v1/pairings").json
        #expect(state["attempts_left"] == 0)
        #expect((state["cooldown_s"]?.double ?? 0) > 500)
        #expect(try !p.panelCanConnect("kiosk-1"))
        let metrics = try p.daemon.get("/metrics").text
        #expect(metrics.contains("fleet_pairing_events_total{event=\"wrong_code\"} 6"), "\(metrics)")

        // Bad hellos are counted and logged once per kind of fault; the daemon keeps serving.
        try p.rawHello("not json")
        try p.rawHello(#"{"id":"Bad Id","kind":"kiosk","model":"m","firmware":"1","password":"0123456789abcdef","code":"BCDFGHJK","fingerprint":"AB12"}"#)
        #expect(waitUntil(seconds: 5) {
            ((try? p.daemon.get("/metrics").text) ?? "").contains("fleet_pairing_events_total{event=\"hello_rejected\"} 2")
        })
        #expect(p.daemon.log.contains("field id"), "\(p.daemon.log)")
        #expect(try p.api("GET", "/api/v1/pairings").json["pending"]?.array?.count == 1)
    }

    @Test func aCrashBetweenBrokerAndRegistryLeavesNoHalfPairedPanel() throws {
        let p = try PairingDaemon()
        try p.start(environment: ["FLEET_TEST_CRASH_AFTER_ACCOUNT": "1"])
        try p.hello("door-9", code: "VWXZ-BCDF")
        _ = try p.await("/api/v1/pairings") { $0["pending"]?.array?.count == 1 }
        let approve = try p.api("POST", "/api/v1/pairings", #"{"code":"VWXZ-BCDF","resource":"hq/9"}"#)
        #expect(approve.status == 202)
        // The daemon dies right after the broker created the account, before devices.sqlite knew.
        #expect(waitUntil(seconds: 10) { !p.daemon.isRunning })
        #expect(p.daemon.stop() == nil || true)
        #expect(try p.panelCanConnect("door-9"))  // the orphan account exists now

        try p.start()
        // Reconciliation at start removes the account that has no device.
        #expect(waitUntil(seconds: 10) { (try? p.panelCanConnect("door-9")) == false })
        #expect(try p.api("GET", "/api/v1/devices/door-9").status == 404)
        // The panel says hello again (its CONNECT keeps failing) and pairs cleanly.
        try p.hello("door-9", code: "VWXZ-BCDF")
        _ = try p.await("/api/v1/pairings") { $0["pending"]?.array?.count == 1 }
        #expect(try p.api("POST", "/api/v1/pairings", #"{"code":"VWXZ-BCDF","resource":"hq/9"}"#).status == 202)
        let done = try p.await("/api/v1/pairings/door-9") { $0["status"] != "approving" }
        #expect(done["status"] == "paired")
        #expect(try p.panelCanConnect("door-9"))
        // A restart keeps it: both truths agree.
        #expect(p.daemon.stop() == 0)
        try p.start()
        #expect(try p.panelCanConnect("door-9"))
        #expect(try p.api("GET", "/api/v1/status").json["pairing"]?["accounts_missing"] == 0)
    }

    @Test func disableReplaceAndGatewaysOverTheAPI() throws {
        let p = try PairingDaemon()
        try p.start()
        try p.hello("room-1", code: "BCDF-GHJK")
        _ = try p.await("/api/v1/pairings") { $0["pending"]?.array?.count == 1 }
        _ = try p.api("POST", "/api/v1/pairings", #"{"code":"BCDFGHJK","resource":"hq/4/4.01","name":"Room 4.01"}"#)
        _ = try p.await("/api/v1/pairings/room-1") { $0["status"] == "paired" }

        let disable = try p.api("POST", "/api/v1/devices/room-1/disable")
        #expect(disable.status == 202 || disable.status == 200)
        if let op = disable.json["operation"]?.int {
            let s = try p.await("/api/v1/operations/\(op)") { $0["status"] != "running" }
            #expect(s["status"] == "succeeded")
        }
        #expect(try !p.panelCanConnect("room-1"))
        #expect(try p.api("GET", "/api/v1/devices/room-1").json["disabled"] == true)
        _ = try p.cli(["devices", "enable", "room-1"])
        #expect(try p.panelCanConnect("room-1"))

        // Move and rename keep the account; the retained config follows.
        let moved = try p.api("POST", "/api/v1/devices/room-1", #"{"resource":"hq/4/4.02","name":"Room 4.02"}"#)
        #expect(moved.json["resource"] == "hq/4/4.02")

        // Replace: a new panel takes the slot, the old one is revoked.
        try p.hello("room-2", code: "LMNP-QRST")
        _ = try p.await("/api/v1/pairings") { $0["pending"]?.array?.count == 1 }
        let r = try p.cli(["devices", "replace", "room-1", "LMNP-QRST", "--yes"])
        #expect(r.status == 0, "\(r.output)")
        #expect(try !p.panelCanConnect("room-1"))
        #expect(try p.panelCanConnect("room-2"))
        let d = try p.api("GET", "/api/v1/devices/room-2").json
        #expect(d["resource"] == "hq/4/4.02")
        #expect(d["name"] == "Room 4.02")
        #expect(try p.api("GET", "/api/v1/devices/room-1").status == 404)

        // Gateways: credentials printed once, publish only under their topic.
        let g = try p.cli(["gateways", "add", "ug65-a", "--format", "milesight-gateway"])
        #expect(g.status == 0, "\(g.output)")
        #expect(g.output.contains("username: fc-gw-ug65-a"))
        #expect(g.output.contains("topic:    fc/v1/ingest/ug65-a/"))
        let list = try p.api("GET", "/api/v1/gateways").json
        #expect(list["gateways"]?[0]?["format"] == "milesight-gateway")
        let bad = try p.api("POST", "/api/v1/gateways", #"{"name":"x","format":"telepathy"}"#)
        #expect(bad.status == 400)
        #expect(try p.cli(["gateways", "remove", "ug65-a"]).status == 0)
        #expect(try p.api("GET", "/api/v1/gateways").json["gateways"]?.array?.count == 0)
    }
}

/// A thousand panels pair through `device-sim pair`, each then connected with its own account.
@Suite(.serialized) struct PairingFleetTests {
    @Test func aThousandPanelsPairThroughTheSimulator() throws {
        let p = try PairingDaemon()
        try p.start()
        let sim = DaemonHarness.binary.replacingOccurrences(of: "/fleet-controller", with: "/device-sim")
        let r = try ChildProcess.run(sim, [
            "pair", "--count", "1000", "--concurrency", "8", "--broker", "127.0.0.1:\(p.broker.port)",
            "--username", p.accounts.bootstrap.username, "--password", p.accounts.bootstrap.password,
            "--api", "http://127.0.0.1:\(p.daemon.httpPort)", "--token-file", "\(p.daemon.dir)/state/admin.token",
            "--id-prefix", "fleet", "--json",
        ], in: p.daemon.dir)
        #expect(r.status == 0, "\(r.output)")
        let report = try JSON.parse(r.output.split(separator: "\n").last.map(String.init) ?? "")
        #expect(report["paired"] == 1000)
        #expect(report["failed"] == 0)
        let devices = try p.api("GET", "/api/v1/devices").json["devices"]?.array ?? []
        #expect(devices.count == 1000)
        #expect(devices.allSatisfy { $0["origin"] == "paired" && $0["resource"]?.string?.hasPrefix("hq/sim/") == true })
    }
}

/// A panel waiting for its installer keeps its code across a controller restart.
@Suite(.serialized) struct PairingRestartTests {
    @Test func aWaitingPanelStillPairsAfterTheControllerRestarts() throws {
        let p = try PairingDaemon()
        try p.start()
        try p.hello("door-5", code: "QRST-VWXZ")
        _ = try p.await("/api/v1/pairings") { $0["pending"]?.array?.count == 1 }
        #expect(p.daemon.stop() == 0)
        try p.start()
        let listed = try p.api("GET", "/api/v1/pairings").json
        #expect(listed["pending"]?[0]?["device_id"] == "door-5")
        let r = try p.cli(["pair", "QRST-VWXZ", "--resource", "hq/5", "--yes"])
        #expect(r.status == 0, "\(r.output)")
        #expect(try p.panelCanConnect("door-5"))
        // Paired: it is no longer remembered as waiting, even after another restart.
        #expect(p.daemon.stop() == 0)
        try p.start()
        #expect(try p.api("GET", "/api/v1/pairings").json["pending"]?.array?.count == 0)
        #expect(try p.panelCanConnect("door-5"))
    }
}
