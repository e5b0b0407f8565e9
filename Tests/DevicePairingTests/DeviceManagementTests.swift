import DevicePairing
import Glibc
import FleetJSON
import FleetLoop
import FleetTestSupport
import MQTTBridge
import Testing

/// Presence, credential rotation, provisioning and reconciliation against the real broker.
@Suite(.serialized) struct DeviceManagementTests {
    @Test func presenceFollowsTheRetainedStatusAndTheLastWill() throws {
        let rig = try PairingRig()
        try rig.pair("panel-a", code: "BCDF-GHJK")
        #expect(rig.registry.device("panel-a")?.online == nil)
        var c = MQTTConfig(clientID: "panel-a")
        c.port = rig.broker.port
        c.username = "panel-a"
        c.password = "pw-panel-a-0123456789"
        c.sessionExpirySeconds = 0
        // The panel's status topic: "online" retained on connect, "offline" as its Last Will.
        c.statusTopic = "fc/v1/dev/panel-a/up/presence/state"
        let panel = MQTTClient(reactor: rig.reactor, config: c, logger: .init(label: "panel"))
        panel.start()
        try rig.run { rig.registry.device("panel-a")?.online == true }
        #expect(rig.registry.device("panel-a")?.lastSeen != nil)
        panel.stop(flushLimit: .milliseconds(500))
        try rig.run { rig.registry.device("panel-a")?.online == false }

        // A panel that vanishes (power cut): the broker publishes its Last Will.
        let topic = "fc/v1/dev/panel-a/up/presence/state"
        #expect(try rig.probe.publish("panel-a", "pw-panel-a-0123456789", clientID: "panel-a", topic: topic, retain: true,
                                      payload: "online") == .allowed)
        try rig.run { rig.registry.device("panel-a")?.online == true }
        let vanishing = try ChildProcess("/usr/bin/mosquitto_sub", [
            "-p", "\(rig.broker.port)", "-V", "5", "-d", "-u", "panel-a", "-P", "pw-panel-a-0123456789", "-i", "panel-a",
            "-t", "fc/v1/dev/panel-a/down/#", "--will-topic", topic, "--will-payload", "offline", "--will-retain", "--will-qos", "1",
        ], logPath: "\(rig.dir)/vanishing.log")
        #expect(waitUntil(seconds: 5) { vanishing.output.contains("received SUBACK") })
        vanishing.signal(SIGKILL)
        vanishing.wait()
        try rig.run { rig.registry.device("panel-a")?.online == false }
    }

    @Test func rotationSendsTheNewPasswordToThePanelThenTheBrokerTakesIt() throws {
        let rig = try PairingRig()
        try rig.pair("panel-a", code: "BCDF-GHJK")
        let panel = rig.client("panel-a", "pw-panel-a-0123456789", clientID: "panel-a")
        var delivered: String?
        panel.subscribe("fc/v1/dev/panel-a/down/credentials") { m in delivered = (try? JSON.parse(m.payload))?["password"]?.string }
        panel.start()
        try rig.run { panel.isReady }
        let result = try rig.wait { done in rig.service.rotate("panel-a", done) }
        let password = try result.get()
        try rig.run { delivered != nil }
        #expect(delivered == password)
        #expect(try rig.probe.publish("panel-a", "pw-panel-a-0123456789", clientID: "panel-a", topic: "fc/v1/dev/panel-a/up/x")
                == .refusedConnect(135))
        #expect(try rig.probe.publish("panel-a", password, clientID: "panel-a", topic: "fc/v1/dev/panel-a/up/x") == .allowed)
    }

    @Test func preProvisionedDevicesNeedNoPairingAndKeepTheirSlotWhenPaired() throws {
        let rig = try PairingRig()
        let made = rig.service.provision(DeviceRecord(id: "door-1", kind: "checkin_panel", resource: "hq/lobby"))
        #expect((try? made.get())?.origin == "api")
        #expect(rig.registry.device("door-1")?.hasAccount == false)
        guard case .failure(let dup) = rig.service.provision(DeviceRecord(id: "door-1", kind: "checkin_panel", resource: "x")) else {
            Issue.record("duplicate accepted"); return
        }
        #expect(dup.code == .conflict)
        guard case .failure(let bad) = rig.service.provision(DeviceRecord(id: "fc-admin", kind: "kiosk", resource: "x")) else {
            Issue.record("reserved id accepted"); return
        }
        #expect(bad.code == .invalidArgument)
    }

    @Test func reconciliationAfterABrokerRestartRemovesOrphansAndFlagsMissingAccounts() throws {
        let rig = try PairingRig()
        try rig.pair("panel-a", code: "BCDF-GHJK")
        try rig.pair("panel-b", code: "LMNP-QRST")
        // Behind the controller's back: an account nobody paired, and panel-b's account deleted.
        let stray = DynsecCommands.createDevice(id: "stray", password: "stray-password-123456", prefix: "fc/v1", text: "?")
        _ = try rig.wait { done in rig.dynsec.send(stray + [DynsecCommands.deleteClient("panel-b")], operation: "test", done) }
        #expect(try rig.probe.publish("stray", "stray-password-123456", clientID: "stray", topic: "fc/v1/dev/stray/up/x") == .allowed)
        // panel-a's retained config is lost too (as after a crash before it was published).
        rig.controller.publish(MQTTMessage(topic: "fc/v1/dev/panel-a/down/config", payload: [], qos: 1, retain: true))
        try rig.run { rig.controller.inflightCount == 0 }
        #expect(try rig.probe.retained("panel-a", "pw-panel-a-0123456789", clientID: "panel-a", topic: "fc/v1/dev/panel-a/down/config") == nil)
        let before = rig.service.lastReconcile?.at
        rig.broker.stop()
        try rig.run { !rig.dynsec.isReady }
        try rig.broker.start()
        // The admin channel reconnects by itself and reconciles.
        try rig.run(limit: .seconds(20)) { rig.service.lastReconcile?.at != before && rig.dynsec.pendingCount == 0 }
        #expect(rig.service.accountMissing == ["panel-b"])
        #expect(rig.service.lastReconcile?.removed == 1)
        #expect(try rig.probe.publish("stray", "stray-password-123456", clientID: "stray", topic: "fc/v1/dev/stray/up/x")
                == .refusedConnect(135))
        #expect(try rig.probe.publish("panel-a", "pw-panel-a-0123456789", clientID: "panel-a", topic: "fc/v1/dev/panel-a/up/x")
                == .allowed)
        try rig.run { rig.controller.isConnected && rig.controller.offlineQueueCount == 0 && rig.controller.inflightCount == 0 }
        #expect(try rig.probe.retained("panel-a", "pw-panel-a-0123456789", clientID: "panel-a", topic: "fc/v1/dev/panel-a/down/config") != nil)
        // panel-b pairs again (a new hello) and is no longer flagged.
        _ = try rig.wait { done in rig.service.unpair("panel-b", done) }
        try rig.pair("panel-b", code: "VWXZ-BCDF")
        #expect(rig.service.accountMissing.isEmpty)
    }

    @Test func reconciliationMakesTheBrokerFollowTheRegistrysDisabledState() throws {
        let rig = try PairingRig()
        try rig.pair("panel-a", code: "BCDF-GHJK")
        // devices.sqlite says disabled (the broker answer was lost before the last crash, say).
        var d = try #require(rig.registry.device("panel-a"))
        d.disabled = true
        try rig.registry.save(d)
        _ = try rig.wait { done in rig.service.reconcile { done(()) } }
        try rig.run { rig.dynsec.pendingCount == 0 }
        #expect(try rig.probe.publish("panel-a", "pw-panel-a-0123456789", clientID: "panel-a", topic: "fc/v1/dev/panel-a/up/x")
                == .refusedConnect(135))
    }
}
