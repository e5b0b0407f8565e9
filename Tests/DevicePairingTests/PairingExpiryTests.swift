import DevicePairing
import FleetLoop
import FleetTestSupport
import Testing

/// A code past its ten minutes is refused as expired, against the real broker, with time driven
/// by a manual clock.
@Suite(.serialized) struct PairingExpiryTests {
    @Test func anExpiredCodeSaysSoAndCreatesNoAccount() throws {
        let clock = ManualClock()
        let rig = try PairingRig(clock: clock)
        try rig.sayHello("panel-exp", code: "BCDF-GHJK")
        clock.advance(by: .seconds(601))
        let r = rig.service.approve(code: "BCDF-GHJK", resource: "hq/1", name: "Room")
        guard case .failure(let e) = r else {
            Issue.record("an expired code was accepted")
            return
        }
        #expect(e.code == .expiredCode)
        #expect(rig.registry.device("panel-exp") == nil)
        let attempt = try rig.probe.publish("panel-exp", "pw-panel-exp-0123456789", clientID: "panel-exp",
                                            topic: "fc/v1/dev/panel-exp/up/status")
        #expect(attempt != .allowed)
    }
}
