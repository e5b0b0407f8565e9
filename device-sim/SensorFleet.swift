import FleetLoop
import MQTTBridge

/// N simulated AM307s behind one gateway, publishing round-robin at a paced total rate.
///
/// Pacing: a 1 ms timer publishes whatever is due since the start (`elapsed × rate`), so high rates
/// go out in batches per tick and a late tick catches up. A window bounds what the broker has not
/// yet acknowledged: for QoS 1 the in-flight count, for QoS 0 every `probeInterval`th uplink goes at
/// QoS 1 and its PUBACK proves the broker has read everything before it (one connection is read in
/// order). Without that, `--rate 0` at QoS 0 would queue unboundedly in the client's memory.
final class SensorFleet {
    struct Summary {
        var sent: Int
        var seconds: Double
        var dropped: UInt64
        var rate: Double { seconds > 0 ? Double(sent) / seconds : 0 }
    }

    private let session: BrokerSession
    private let topicPrefix: String
    private let qos: Int32
    private let rate: Double
    private let limit: Int
    private let window: Int
    private var sensors: [SimulatedAM307]
    private var rng: SplitMix64
    private var nextSensor = 0
    private(set) var sent = 0
    private var started: Instant?
    private var timer: TimerID?
    static let probeInterval = 250

    /// - Parameters:
    ///   - rate: messages per second in total; 0 sends as fast as the window allows.
    ///   - limit: stop after this many messages (`Int.max` for a duration-bound run).
    ///   - window: messages the broker may have outstanding (not yet acknowledged).
    init(session: BrokerSession, count: Int, topicPrefix: String, qos: Int32, rate: Double, limit: Int,
         window: Int, seed: UInt64, firstFCnt: UInt32) {
        self.session = session
        self.topicPrefix = topicPrefix
        self.qos = qos
        self.rate = rate
        self.limit = limit
        self.window = window
        var rng = SplitMix64(seed: seed)
        sensors = (0..<count).map { SimulatedAM307(index: $0, firstFCnt: firstFCnt, using: &rng) }
        self.rng = rng
    }

    /// Publishes until `limit` messages went out or `duration` passed, then waits until the broker
    /// has acknowledged what is in flight.
    func run(duration: Duration?) throws -> Summary {
        let reactor = session.reactor
        let start = reactor.clock.now
        started = start
        let deadline = duration.map { start + $0 }
        timer = reactor.every(.milliseconds(1)) { [unowned self] in self.pump() }
        pump()
        try session.run(until: { [unowned self] in
            self.sent >= self.limit || deadline.map { reactor.clock.now >= $0 } ?? false
        })
        if let timer { reactor.cancel(timer) }
        // Wait for the broker's acknowledgements so the rate counts messages it actually took.
        try session.run(until: { [unowned self] in self.session.client.inflightCount == 0 }, limit: .seconds(30))
        let seconds = reactor.clock.now.since(start).seconds
        return Summary(sent: sent, seconds: seconds, dropped: session.client.stats.dropped)
    }

    private func pump() {
        let client = session.client
        guard client.isConnected, let started, sent < limit else { return }
        let due: Int
        if rate > 0 {
            let elapsed = session.reactor.clock.now.since(started).seconds
            due = min(limit, Int(elapsed * rate) + 1)
        } else {
            due = limit
        }
        // Bound one tick's work so PUBACKs and the timer keep being serviced at full speed.
        var budget = min(due - sent, 4096)
        while budget > 0, hasRoom(client) {
            guard publishNext(client) else { return }
            budget -= 1
        }
    }

    private func hasRoom(_ client: MQTTClient) -> Bool {
        if qos > 0 { return client.inflightCount < window }
        return client.inflightCount < max(2, window / Self.probeInterval)
    }

    private func publishNext(_ client: MQTTClient) -> Bool {
        let index = nextSensor
        let reading = sensors[index].step(using: &rng)
        let sensor = sensors[index]
        // Values come from bounded drift, so they always fit their channel.
        let frame = try! AM307Encoder.encode(reading)
        let micros = Int64(session.reactor.clock.unixTime * 1_000_000)
        let payload = GatewayEnvelope.uplink(
            devEUI: sensor.gatewayEUI, deviceName: "AM307-\(sensor.devEUI)", fCnt: sensor.fCnt,
            fPort: AM307Encoder.fPort, payload: frame, unixMicros: micros, rssi: sensor.rssi, snr: sensor.snr)
        // QoS 0 runs send a probe every probeInterval messages and always end on one.
        let isProbe = qos == 0 && ((sent + 1) % Self.probeInterval == 0 || sent + 1 == limit)
        let message = MQTTMessage(topic: "\(topicPrefix)/\(sensor.gatewayEUI)", payload: payload,
                                  qos: isProbe ? 1 : qos)
        guard client.publish(message) else { return false }
        sent += 1
        nextSensor = (index + 1) % sensors.count
        return true
    }
}

@available(*, unavailable) extension SensorFleet: Sendable {}
