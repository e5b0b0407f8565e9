import FleetJSON
import FleetLoop
import Glibc
import MQTTBridge

/// A paired check-in panel asking the controller to authorize badges, as the real panel firmware
/// does: requests on `<prefix>/dev/<id>/up/authorize`, replies on `<prefix>/dev/<id>/down/rpc`,
/// matched by MQTT v5 Correlation Data or, for MQTT 3.1.1, by an `id` in the JSON body.
final class PanelClient {
    struct Result {
        var sent = 0
        var replies = 0
        var timeouts = 0
        /// Replies that came after their request timed out, or that match no request.
        var unmatched = 0
        /// `allow`, `deny`, or `error:<code>` for error replies.
        var outcomes: [String: Int] = [:]
        var latenciesMS: [Double] = []
        var seconds = 0.0
    }

    private let session: BrokerSession
    private let requestTopic: String
    private let replyTopic: String
    private let badges: [String]
    private let v311: Bool
    private let qos: Int32
    private let timeout: Duration
    private let tag: String
    private var pending: [String: Instant] = [:]
    /// Requests in the order sent: timeouts expire from the front, so a sweep touches only what is due.
    private var sendOrder: [(id: String, sentAt: Instant)] = []
    private var oldest = 0
    /// Called when a request got its reply or timed out (drives the closed loop).
    private var onSettled: (() -> Void)?
    private(set) var result = Result()

    init(session: BrokerSession, prefix: String, deviceID: String, badges: [String], v311: Bool, qos: Int32,
         timeout: Duration) {
        self.session = session
        requestTopic = "\(prefix)/dev/\(deviceID)/up/authorize"
        replyTopic = "\(prefix)/dev/\(deviceID)/down/rpc"
        self.badges = badges
        self.v311 = v311
        self.qos = qos
        self.timeout = timeout
        // Ids stay unique across runs, so a late reply to an earlier run never matches this one.
        tag = "\(getpid())-\(UInt64(session.reactor.clock.unixTime * 1000) % 1_000_000_000)"
    }

    /// Subscribes to the reply topic; call before connecting so the SUBACK is part of readiness.
    func subscribe() {
        session.client.subscribe(replyTopic, qos: qos) { [unowned self] m in self.handleReply(m) }
    }

    /// Sends `requests` requests: paced at `rate` per second, or with `rate` 0 one at a time, each
    /// right after the previous reply. Returns when every request is answered or timed out.
    func run(requests: Int, rate: Double) throws -> Result {
        let reactor = session.reactor
        let start = reactor.clock.now
        let sweep = reactor.every(.milliseconds(10)) { [unowned self] in self.expire() }
        var pacer: TimerID?
        if rate > 0 {
            pacer = reactor.every(.milliseconds(1)) { [unowned self] in
                let due = min(requests, Int(reactor.clock.now.since(start).seconds * rate) + 1)
                while self.result.sent < due { self.send() }
            }
            send()
        } else {
            onSettled = { [unowned self] in
                if self.result.sent < requests {
                    // From a timer, not the message callback, so the publish is written at once.
                    reactor.schedule(after: .zero) { self.send() }
                }
            }
            send()
        }
        try session.run(until: { [unowned self] in self.result.sent >= requests && self.pending.isEmpty })
        reactor.cancel(sweep)
        if let pacer { reactor.cancel(pacer) }
        result.seconds = reactor.clock.now.since(start).seconds
        return result
    }

    private func send() {
        let n = result.sent
        result.sent += 1
        let id = "\(tag)-\(n)"
        let badge = badges[n % badges.count]
        var body: JSONObject = [
            "credential": ["type": "badge", "value": JSON(badge)],
            "action": "checkin",
        ]
        var message = MQTTMessage(topic: requestTopic, payload: [], qos: qos)
        if v311 {
            body["reply_to"] = JSON(replyTopic)
            body["id"] = JSON(id)
        } else {
            message.responseTopic = replyTopic
            message.correlationData = Array(id.utf8)
        }
        message.payload = JSON.object(body).bytes
        let now = session.reactor.clock.now
        pending[id] = now
        sendOrder.append((id, now))
        // A refused publish (client queue full) stays pending and counts as a timeout.
        session.client.publish(message)
    }

    private func handleReply(_ m: MQTTMessage) {
        let now = session.reactor.clock.now
        let body = try? JSON.parse(m.payload)
        let id: String?
        if let cd = m.correlationData {
            id = String(decoding: cd, as: UTF8.self)
        } else {
            id = body?["id"]?.string
        }
        guard let id, let sentAt = pending.removeValue(forKey: id) else {
            result.unmatched += 1
            return
        }
        result.replies += 1
        result.latenciesMS.append(now.since(sentAt).milliseconds)
        result.outcomes[Self.outcome(of: body), default: 0] += 1
        onSettled?()
    }

    /// `allow`/`deny` from a decision, `error:<code>` from an error reply, `invalid` otherwise.
    static func outcome(of body: JSON?) -> String {
        if let decision = body?["decision"]?.string { return decision }
        if let error = body?["error"]?.string { return "error:\(error)" }
        return "invalid"
    }

    private func expire() {
        let now = session.reactor.clock.now
        while oldest < sendOrder.count, now.since(sendOrder[oldest].sentAt) >= timeout {
            if pending.removeValue(forKey: sendOrder[oldest].id) != nil {
                result.timeouts += 1
                onSettled?()
            }
            oldest += 1
        }
    }
}

@available(*, unavailable) extension PanelClient: Sendable {}
