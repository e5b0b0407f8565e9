import DevicePairing
import FleetJSON
import FleetLoop
import FleetTestSupport
import Logging
import MQTTBridge
import Testing

/// The dynsec admin channel against the real plugin: answers arrive on one broadcast topic for
/// every admin session, so each session must pick out its own by correlation data.
@Suite(.serialized) struct DynsecClientTests {
    private func admin(_ broker: BrokerHarness, _ loop: Reactor, _ id: String) -> DynsecClient {
        var c = MQTTConfig(clientID: id)
        c.port = broker.port
        c.username = broker.accounts!.admin.username
        c.password = broker.accounts!.admin.password
        var logger = Logger(label: "dynsec")
        logger.logLevel = .critical
        return DynsecClient(reactor: loop, config: c, logger: logger)
    }

    @Test func twoAdminSessionsEachGetOnlyTheirOwnAnswersInOrder() throws {
        let broker = try BrokerHarness(dynsecWith: DaemonHarness.binary)
        let loop = try Reactor()
        let a = admin(broker, loop, "admin-a"), b = admin(broker, loop, "admin-b")
        a.start()
        b.start()
        _ = try loop.run(until: { a.isReady && b.isReady })
        var ra: Result<[DynsecResponse], PairingError>?
        var rb: Result<[DynsecResponse], PairingError>?
        a.send([DynsecCommands.deleteClient("nobody"), DynsecCommands.listClients()], operation: "a") { ra = $0 }
        b.send([DynsecCommands.createRole("r-b", [], text: "b"), DynsecCommands.createRole("r-b", [], text: "b")],
               operation: "b") { rb = $0 }
        _ = try loop.run(until: { ra != nil && rb != nil })
        let answersA = try #require(try? ra?.get())
        #expect(answersA.map(\.command) == ["deleteClient", "listClients"])
        #expect(answersA[0].error == "Client not found")
        #expect(answersA[1].data?["clients"]?.array?.count == 3)
        let answersB = try #require(try? rb?.get())
        #expect(answersB.map(\.command) == ["createRole", "createRole"])
        #expect(answersB[0].error == nil)
        #expect(answersB[1].error == "Role already exists")
        a.stop()
        b.stop()
    }

    @Test func aDownChannelFailsAtOnceAndALostOneFailsWhatWaits() throws {
        let broker = try BrokerHarness(dynsecWith: DaemonHarness.binary)
        let loop = try Reactor()
        let a = admin(broker, loop, "admin-a")
        var early: Result<[DynsecResponse], PairingError>?
        a.send([DynsecCommands.listClients()], operation: "early") { early = $0 }
        guard case .failure(let e)? = early else { Issue.record("sent without a connection"); return }
        #expect(e.code == .brokerUnavailable)
        a.start()
        _ = try loop.run(until: { a.isReady })
        broker.kill()
        var late: Result<[DynsecResponse], PairingError>?
        a.send([DynsecCommands.listClients()], operation: "late") { late = $0 }
        _ = try loop.run(until: { late != nil }, limit: .seconds(8))
        guard case .failure(let e2)? = late else { Issue.record("no failure: \(String(describing: late))"); return }
        #expect(e2.code == .brokerUnavailable)
        #expect(a.pendingCount == 0)
    }
}
