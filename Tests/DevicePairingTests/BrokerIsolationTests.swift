import DevicePairing
import FleetJSON
import FleetLoop
import FleetTestSupport
import MQTTBridge
import Testing

/// Against a real mosquitto with the dynamic-security plugin, as `fleet-controller broker init`
/// sets it up: who may connect, publish and subscribe where.
@Suite(.serialized) struct BrokerIsolationTests {
    @Test func brokerInitDeniesByDefaultAndBootstrapMayOnlySayHello() throws {
        let rig = try PairingRig()
        let p = rig.probe, a = rig.accounts
        // No anonymous access at all.
        let anon = try ChildProcess.run("/usr/bin/mosquitto_pub", ["-p", "\(rig.broker.port)", "-V", "5", "-d", "-t", "x", "-m", "x"],
                                        in: rig.dir)
        #expect(anon.output.contains("CONNACK (135)") || anon.output.contains("CONNACK (134)"), "\(anon.output)")
        let b = a.bootstrap
        #expect(try p.publish(b.username, b.password, clientID: "b1", topic: "fc/v1/pair/hello") == .allowed)
        #expect(try p.publish(b.username, b.password, clientID: "b1", topic: "fc/v1/pair/other") == .denied)
        #expect(try p.publish(b.username, b.password, clientID: "b1", topic: "fc/v1/dev/x/up/status") == .denied)
        #expect(try p.publish(b.username, b.password, clientID: "b1", topic: "fc/v1/ingest/gw/x") == .denied)
        #expect(try p.subscribe(b.username, b.password, clientID: "b1", filter: "fc/v1/pair/hello") == .denied)
        #expect(try p.subscribe(b.username, b.password, clientID: "b1", filter: "#") == .denied)
        // The controller's account works under the prefix; the admin account is for dynsec only.
        let c = a.controller
        #expect(try p.publish(c.username, c.password, clientID: "c1", topic: "fc/v1/dev/x/down/config") == .allowed)
        #expect(try p.subscribe(c.username, c.password, clientID: "c1", filter: "fc/v1/#") == .allowed)
        #expect(try p.publish(a.admin.username, a.admin.password, clientID: "a1", topic: "fc/v1/x") == .denied)
        #expect(try p.publish(b.username, "wrong-password", clientID: "b1", topic: "fc/v1/pair/hello") != .allowed)
    }

    @Test func aPairedPanelReachesOnlyItsOwnTopics() throws {
        let rig = try PairingRig()
        try rig.pair("panel-a", code: "BCDF-GHJK", resource: "hq/3/3.14")
        try rig.pair("panel-b", code: "LMNP-QRST")
        let p = rig.probe
        let (user, pw) = ("panel-a", "pw-panel-a-0123456789")
        #expect(try p.publish(user, pw, clientID: user, topic: "fc/v1/dev/panel-a/up/status") == .allowed)
        #expect(try p.subscribe(user, pw, clientID: user, filter: "fc/v1/dev/panel-a/down/#") == .allowed)
        // Its retained config is waiting on its own down/.
        let text = try #require(try p.retained(user, pw, clientID: user, topic: "fc/v1/dev/panel-a/down/config"))
        let config = try JSON.parse(text)
        #expect(config["resource"] == "hq/3/3.14")
        #expect(config["device_id"] == "panel-a")
        // Another panel's topics, wildcards over all panels, ingest, hello: all denied.
        #expect(try p.publish(user, pw, clientID: user, topic: "fc/v1/dev/panel-b/up/status") == .denied)
        #expect(try p.publish(user, pw, clientID: user, topic: "fc/v1/dev/panel-b/down/config") == .denied)
        #expect(try p.publish(user, pw, clientID: user, topic: "fc/v1/dev/panel-a/down/config") == .denied)
        #expect(try p.subscribe(user, pw, clientID: user, filter: "fc/v1/dev/panel-b/down/#") == .denied)
        #expect(try p.subscribe(user, pw, clientID: user, filter: "fc/v1/dev/+/down/#") == .denied)
        #expect(try p.subscribe(user, pw, clientID: user, filter: "#") == .denied)
        #expect(try p.publish(user, pw, clientID: user, topic: "fc/v1/ingest/gw1/x") == .denied)
        #expect(try p.subscribe(user, pw, clientID: user, filter: "fc/v1/ingest/#") == .denied)
        #expect(try p.publish(user, pw, clientID: user, topic: "fc/v1/pair/hello") == .denied)
        // Its credentials are bound to its own client id; an unpaired id cannot connect at all.
        #expect(try p.publish(user, pw, clientID: "someone-else", topic: "fc/v1/dev/panel-a/up/x") == .refusedConnect(135))
        #expect(try p.publish("panel-z", "pw-panel-z-0123456789", clientID: "panel-z", topic: "fc/v1/dev/panel-z/up/x")
                == .refusedConnect(135))
        let d = try #require(rig.registry.device("panel-a"))
        #expect(d.origin == "paired" && d.model == "RD-10" && d.fingerprint == "AB12-CD" && d.pairedAt != nil)
    }

    @Test func unpairAndDisableKickAtOnceAndReplaceMovesTheSlot() throws {
        let rig = try PairingRig()
        try rig.pair("panel-a", code: "BCDF-GHJK", resource: "hq/lobby")
        try rig.pair("panel-b", code: "LMNP-QRST", resource: "hq/2")
        let live = rig.client("panel-a", "pw-panel-a-0123456789", clientID: "panel-a")
        var kicked = false
        live.onDisconnect = { kicked = true }
        live.start()
        try rig.run { live.isConnected }

        let disabled = try rig.wait { done in rig.service.setDisabled("panel-a", true, done) }
        #expect((try? disabled.get())??.disabled == true)
        try rig.run { kicked }
        #expect(try rig.probe.publish("panel-a", "pw-panel-a-0123456789", clientID: "panel-a", topic: "fc/v1/dev/panel-a/up/x")
                == .refusedConnect(135))
        _ = try rig.wait { done in rig.service.setDisabled("panel-a", false, done) }
        #expect(try rig.probe.publish("panel-a", "pw-panel-a-0123456789", clientID: "panel-a", topic: "fc/v1/dev/panel-a/up/x")
                == .allowed)

        // A new panel takes panel-a's slot; panel-a is revoked (its live session kicked) and gone.
        try rig.run(limit: .seconds(15)) { live.isConnected }
        kicked = false
        try rig.sayHello("panel-c", code: "VWXZ-BCDF")
        guard case .success = rig.service.replace("panel-a", code: "VWXZBCDF") else { Issue.record("replace refused"); return }
        try rig.run { rig.service.outcomes["panel-c"] != .approving }
        try rig.run { kicked }
        #expect(rig.registry.device("panel-a") == nil)
        #expect(rig.registry.device("panel-c")?.resource == "hq/lobby")
        #expect(rig.registry.device("panel-c")?.name == "Room of panel-a")
        try rig.run { rig.dynsec.pendingCount == 0 }
        #expect(try rig.probe.publish("panel-a", "pw-panel-a-0123456789", clientID: "panel-a", topic: "fc/v1/dev/panel-a/up/x")
                == .refusedConnect(135))
        #expect(try rig.probe.publish("panel-c", "pw-panel-c-0123456789", clientID: "panel-c", topic: "fc/v1/dev/panel-c/up/x")
                == .allowed)

        // Unpair: account deleted, a live session kicked at once.
        let liveB = rig.client("panel-b", "pw-panel-b-0123456789", clientID: "panel-b")
        var kickedB = false
        liveB.onDisconnect = { kickedB = true }
        liveB.start()
        try rig.run { liveB.isConnected }
        let unpaired = try rig.wait { done in rig.service.unpair("panel-b", done) }
        if case .failure(let e) = unpaired { Issue.record("unpair failed: \(e)") }
        try rig.run { kickedB }
        #expect(rig.registry.device("panel-b") == nil)
        #expect(try rig.probe.publish("panel-b", "pw-panel-b-0123456789", clientID: "panel-b", topic: "fc/v1/dev/panel-b/up/x")
                == .refusedConnect(135))
    }

    @Test func bruteForcingCodesHitsTheLimit() throws {
        let rig = try PairingRig()
        try rig.sayHello("panel-a", code: "BCDF-GHJK")
        var codes: [PairingError.Code] = []
        for guess in ["BBBBBBBB", "CCCCCCCC", "DDDDDDDD", "FFFFFFFF", "GGGGGGGG", "HHHHHHHH"] {
            if case .failure(let e) = rig.service.approve(code: guess, resource: "hq/1", name: nil) { codes.append(e.code) }
        }
        #expect(codes == [.wrongCode, .wrongCode, .wrongCode, .wrongCode, .coolingDown, .coolingDown])
        // Even the right code waits now, and nothing was created on the broker.
        guard case .failure(let e) = rig.service.approve(code: "BCDFGHJK", resource: "hq/1", name: nil) else {
            Issue.record("the right code got through during the cool-down"); return
        }
        #expect(e.code == .coolingDown)
        #expect((e.retryAfter ?? 0) > 590)
        #expect(rig.service.attemptsLeft == 0)
        #expect(try rig.probe.publish("panel-a", "pw-panel-a-0123456789", clientID: "panel-a", topic: "fc/v1/dev/panel-a/up/x")
                == .refusedConnect(135))
    }

    @Test func gatewaysMayPublishOnlyUnderTheirOwnIngestTopic() throws {
        let rig = try PairingRig()
        let created = try rig.wait { done in rig.service.addGateway(name: "ug65-lobby", format: "milesight-gateway", done) }
        let c = try created.get()
        #expect(c.username == "fc-gw-ug65-lobby")
        #expect(c.topic == "fc/v1/ingest/ug65-lobby/")
        #expect(rig.registry.gateway("ug65-lobby")?.format == "milesight-gateway")
        let p = rig.probe
        #expect(try p.publish(c.username, c.password, clientID: "gw", topic: "fc/v1/ingest/ug65-lobby/uplink/24e1") == .allowed)
        #expect(try p.publish(c.username, c.password, clientID: "gw", topic: "fc/v1/ingest/other/uplink") == .denied)
        #expect(try p.publish(c.username, c.password, clientID: "gw", topic: "fc/v1/dev/x/up/status") == .denied)
        #expect(try p.subscribe(c.username, c.password, clientID: "gw", filter: "fc/v1/ingest/#") == .denied)
        let removed = try rig.wait { done in rig.service.removeGateway(name: "ug65-lobby", done) }
        #expect((try? removed.get()) != nil)
        #expect(rig.registry.gateway("ug65-lobby") == nil)
        #expect(try p.publish(c.username, c.password, clientID: "gw", topic: "fc/v1/ingest/ug65-lobby/x") == .refusedConnect(135))
    }
}
