import FleetJSON
import FleetLoop
import FleetTestSupport
import Logging
import Testing
@testable import MQTTBridge

private func client(_ loop: Reactor, _ broker: BrokerHarness, _ id: String, unix: Bool = true,
                    version: MQTTConfig.Version = .v5, status: String? = nil) -> MQTTClient {
    var c = MQTTConfig(clientID: id)
    if unix { c.host = broker.socketPath; c.port = 0 } else { c.host = "127.0.0.1"; c.port = broker.port }
    c.protocolVersion = version
    c.statusTopic = status
    return MQTTClient(reactor: loop, config: c, logger: Logger(label: id))
}

@Suite(.serialized) struct MQTTClientTests {
    @Test func publishAndReceiveThroughARealBroker() throws {
        let broker = try BrokerHarness()
        let loop = try Reactor()
        let a = client(loop, broker, "a"), b = client(loop, broker, "b", unix: false)
        var got: [MQTTMessage] = []
        b.subscribe("t/#") { got.append($0) }
        a.start(); b.start()
        #expect(try loop.run(until: { a.isReady && b.isReady }))
        a.publish(MQTTMessage(topic: "t/1", payload: Array("hello".utf8), qos: 1))
        #expect(try loop.run(until: { got.count == 1 }))
        #expect(got.first?.text == "hello")
        #expect(got.first?.topic == "t/1")
    }

    @Test func v5RequestGetsAReplyWithCorrelationDataEchoed() throws {
        let broker = try BrokerHarness()
        let loop = try Reactor()
        let server = client(loop, broker, "controller"), panel = client(loop, broker, "panel")
        let router = RequestRouter(client: server, prefix: "fc/v1", logger: Logger(label: "router"))
        router.on("authorize") { req in ["decision": "allow", "device": JSON(req.deviceID), "badge": req.body["badge"] ?? .null] }
        router.start()
        var replies: [MQTTMessage] = []
        panel.subscribe("fc/v1/dev/door-1/down/#") { replies.append($0) }
        server.start(); panel.start()
        #expect(try loop.run(until: { server.isReady && panel.isReady }))
        panel.publish(MQTTMessage(topic: "fc/v1/dev/door-1/up/authorize", payload: Array(#"{"badge":"B1"}"#.utf8),
                                  qos: 1, responseTopic: "fc/v1/dev/door-1/down/rpc", correlationData: [1, 2, 3]))
        #expect(try loop.run(until: { !replies.isEmpty }))
        #expect(replies[0].topic == "fc/v1/dev/door-1/down/rpc")
        #expect(replies[0].correlationData == [1, 2, 3])
        let body = try JSON.parse(replies[0].payload)
        #expect(body["decision"] == "allow")
        #expect(body["device"] == "door-1")
        #expect(body["badge"] == "B1")
    }

    @Test func mqtt311RequestUsesReplyToAndIdInTheBody() throws {
        let broker = try BrokerHarness()
        let loop = try Reactor()
        let server = client(loop, broker, "controller"), panel = client(loop, broker, "panel311", version: .v311)
        let router = RequestRouter(client: server, prefix: "fc/v1", logger: Logger(label: "router"))
        router.on("status") { _ in ["ok": true] }
        router.start()
        var replies: [MQTTMessage] = []
        panel.subscribe("fc/v1/dev/kiosk-2/down/#") { replies.append($0) }
        server.start(); panel.start()
        #expect(try loop.run(until: { server.isReady && panel.isReady }))
        panel.publish(MQTTMessage(topic: "fc/v1/dev/kiosk-2/up/status",
                                  payload: Array(#"{"reply_to":"fc/v1/dev/kiosk-2/down/r","id":"req-7"}"#.utf8), qos: 1))
        #expect(try loop.run(until: { !replies.isEmpty }))
        #expect(replies[0].topic == "fc/v1/dev/kiosk-2/down/r")
        let body = try JSON.parse(replies[0].payload)
        #expect(body["id"] == "req-7")
        #expect(body["ok"] == true)
    }

    @Test func replyTopicOutsideTheDevicesOwnTreeIsRefused() throws {
        let broker = try BrokerHarness()
        let loop = try Reactor()
        let server = client(loop, broker, "controller"), panel = client(loop, broker, "evil")
        let router = RequestRouter(client: server, prefix: "fc/v1", logger: Logger(label: "router"))
        router.on("authorize") { _ in ["decision": "allow"] }
        router.start()
        var leaked: [MQTTMessage] = []
        panel.subscribe("fc/v1/dev/door-9/down/#") { leaked.append($0) }
        server.start(); panel.start()
        #expect(try loop.run(until: { server.isReady && panel.isReady }))
        panel.publish(MQTTMessage(topic: "fc/v1/dev/door-1/up/authorize", payload: Array("{}".utf8), qos: 1,
                                  responseTopic: "fc/v1/dev/door-9/down/rpc"))
        #expect(try loop.run(until: { router.rejected == 1 }))
        #expect(router.answered == 0)
        #expect(leaked.isEmpty)
    }

    @Test func malformedJSONGetsAnErrorReplyNamingTheByte() throws {
        let broker = try BrokerHarness()
        let loop = try Reactor()
        let server = client(loop, broker, "controller"), panel = client(loop, broker, "panel")
        let router = RequestRouter(client: server, prefix: "fc/v1", logger: Logger(label: "router"))
        router.on("authorize") { _ in ["decision": "allow"] }
        router.start()
        var replies: [MQTTMessage] = []
        panel.subscribe("fc/v1/dev/door-1/down/#") { replies.append($0) }
        server.start(); panel.start()
        #expect(try loop.run(until: { server.isReady && panel.isReady }))
        panel.publish(MQTTMessage(topic: "fc/v1/dev/door-1/up/authorize", payload: Array(#"{"badge":}"#.utf8), qos: 1,
                                  responseTopic: "fc/v1/dev/door-1/down/rpc"))
        #expect(try loop.run(until: { !replies.isEmpty }))
        let body = try JSON.parse(replies[0].payload)
        #expect(body["error"] == "bad_request")
        #expect(body["message"]?.string?.contains("byte 9") == true)
    }

    @Test func reconnectsAfterTheBrokerIsKilledAndRestarted() throws {
        let broker = try BrokerHarness()
        let loop = try Reactor()
        let sub = client(loop, broker, "sub", unix: false), pub = client(loop, broker, "pub", unix: false)
        var got: [String] = []
        sub.subscribe("r/#") { got.append($0.text) }
        sub.start(); pub.start()
        #expect(try loop.run(until: { sub.isReady && pub.isReady }))

        broker.kill()
        #expect(try loop.run(until: { !sub.isConnected && !pub.isConnected }))
        // Published while the broker is down: held in memory, sent after the reconnect.
        #expect(pub.publish(MQTTMessage(topic: "r/1", payload: Array("while-down".utf8), qos: 1)))
        #expect(pub.offlineQueueCount == 1)

        try broker.start()
        #expect(try loop.run(until: { sub.isReady && pub.isConnected }, limit: .seconds(40)))
        // The held message went out on reconnect (the subscriber may or may not have been back yet:
        // the killed broker lost its sessions, which is what MQTT promises and no more).
        #expect(pub.offlineQueueCount == 0)
        #expect(pub.stats.published >= 1)
        #expect(sub.stats.connects >= 2)
        pub.publish(MQTTMessage(topic: "r/2", payload: Array("after".utf8), qos: 1))
        #expect(try loop.run(until: { got.contains("after") }))
    }

    @Test func statusIsRetainedOnlineThenOfflineOnCleanStop() throws {
        let broker = try BrokerHarness()
        let loop = try Reactor()
        let ctl = client(loop, broker, "ctl", status: "fc/v1/controller/status")
        ctl.start()
        #expect(try loop.run(until: { ctl.isReady }))
        let watcher = client(loop, broker, "watcher")
        var seen: [String] = []
        watcher.subscribe("fc/v1/controller/status") { seen.append($0.text) }
        watcher.start()
        #expect(try loop.run(until: { seen.contains("online") }))
        ctl.stop()
        #expect(try loop.run(until: { seen.last == "offline" }))
    }
}

@Suite(.serialized) struct MQTTBulkWindowTests {
    @Test func bulkPublishingStopsAtTheWindowAndResumesWhenItDrains() throws {
        let broker = try BrokerHarness()
        let loop = try Reactor()
        var config = MQTTConfig(clientID: "exporter")
        config.host = broker.socketPath
        config.port = 0
        config.bulkWindow = 8
        let exporter = MQTTClient(reactor: loop, config: config, logger: Logger(label: "exporter"))
        let sink = client(loop, broker, "sink")
        var received = 0
        sink.subscribe("bulk/#") { _ in received += 1 }
        var queue = (0..<100).map { MQTTMessage(topic: "bulk/\($0)", payload: [UInt8($0)], qos: 1) }
        var reopened = 0
        func pump() {
            while let next = queue.first, exporter.publishBulk(next) { queue.removeFirst() }
        }
        exporter.onBulkWindowOpen = { reopened += 1; pump() }
        exporter.start(); sink.start()
        #expect(try loop.run(until: { exporter.isReady && sink.isReady }))
        pump()
        #expect(exporter.inflightCount <= 8)
        #expect(queue.count >= 92)
        #expect(try loop.run(until: { received == 100 }))
        #expect(queue.isEmpty)
        #expect(reopened >= 10)
        #expect(exporter.stats.dropped == 0)
    }
}
