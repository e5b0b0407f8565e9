import CFleetShims
import FleetLoop
import FleetTestSupport
import Logging
import Testing
@testable import MQTTBridge

/// How many packets one readiness of a busy session reads: a batch, whatever errno says.
@Suite(.serialized) struct MQTTReadBatchTests {
    private func client(_ loop: Reactor, _ broker: BrokerHarness, _ id: String) -> MQTTClient {
        var c = MQTTConfig(clientID: id)
        c.host = broker.socketPath
        c.port = 0
        return MQTTClient(reactor: loop, config: c, logger: Logger(label: id))
    }

    /// A receiver, and a sender on a loop of its own, so the receiver can be left unread while
    /// `count` QoS 0 messages pile up in its socket.
    private func pileUp(
        _ count: Int, receiverSetup: (MQTTClient) -> Void
    ) throws -> (loop: Reactor, receiver: MQTTClient, delivered: () -> Int, broker: BrokerHarness) {
        let broker = try BrokerHarness()
        let loop = try Reactor(), senderLoop = try Reactor()
        let receiver = client(loop, broker, "receiver"), sender = client(senderLoop, broker, "sender")
        var delivered = 0
        receiver.subscribe("flood/#", qos: 0) { _ in delivered += 1 }
        receiver.start()
        sender.start()
        #expect(try loop.run(until: { receiver.isReady }))
        #expect(try senderLoop.run(until: { sender.isReady }))
        receiverSetup(receiver)
        for i in 0..<count {
            _ = sender.publish(MQTTMessage(topic: "flood/\(i)", payload: Array(repeating: 7, count: 40), qos: 0))
        }
        let fd = mosquitto_socket(receiver.mosq)
        // The broker is another process: wait for its deliveries to reach the receiver's socket
        // (the sender's loop writes what its socket did not take at once).
        #expect(waitUntil(seconds: 10) {
            _ = try? senderLoop.tick(timeoutMS: 0)
            return cfs_socket_unread_bytes(fd) >= count * 40
        })
        return (loop, receiver, { delivered }, broker)
    }

    /// libmosquitto writes a byte to its wake-up socketpair for every publish; nobody reads it in
    /// an external loop, so it fills and leaves errno at EAGAIN. Taken as "socket drained", that
    /// read one packet per readiness and a backlog grew behind a door's request.
    @Test func aFullWakeUpSocketpairDoesNotShrinkTheBatch() throws {
        let rig = try pileUp(200) { receiver in
            for _ in 0..<2_000 { _ = receiver.publish(MQTTMessage(topic: "noise", payload: [1], qos: 0)) }
        }
        try rig.loop.tick(timeoutMS: 1_000)
        #expect(rig.delivered() == MQTTClient.readBudget)
        #expect(try rig.loop.run(until: { rig.delivered() == 200 }))
    }

    /// With many QoS 1 publishes of its own unacknowledged, one mosquitto_loop_read would go on
    /// reading that many packets in one call; the batch stays bounded.
    @Test func aLongOutgoingQueueDoesNotTurnOneReadIntoHundreds() throws {
        let rig = try pileUp(300) { receiver in
            for i in 0..<400 { _ = receiver.publish(MQTTMessage(topic: "out/\(i)", payload: [1], qos: 1)) }
        }
        try rig.loop.tick(timeoutMS: 1_000)
        #expect(rig.delivered() > 0)
        #expect(rig.delivered() <= MQTTClient.readBudget)
        #expect(try rig.loop.run(until: { rig.delivered() == 300 }))
    }
}
