import FleetJSON
import FleetLoop
import Logging
import MQTTBridge

/// One dynsec answer.
public struct DynsecResponse: Sendable, Equatable {
    public var command: String
    public var error: String?
    public var data: JSON?
}

/// The controller's admin channel to mosquitto's dynamic-security plugin: its own clean MQTT session
/// with the admin account, subscribed to `$CONTROL/dynamic-security/v1/response`. The plugin answers
/// every command of a message in one response message, QoS 0, to every subscriber of that topic, so
/// each command carries correlation data and answers are matched by it; foreign answers are ignored.
public final class DynsecClient {
    public typealias Completion = (Result<[DynsecResponse], PairingError>) -> Void

    public static let requestTopic = "$CONTROL/dynamic-security/v1"
    public static let responseTopic = "$CONTROL/dynamic-security/v1/response"

    private let reactor: Reactor
    let mqtt: MQTTClient
    private let logger: Logger
    private let timeout: Duration
    private var nextID: UInt64 = 0
    /// Every admin session sees every answer, and another session numbers its commands from 1 too:
    /// correlation data carries a random tag of this session as well as the command's number.
    private let tag = String(randomSecret().filter { $0.isLetter || $0.isNumber }.prefix(12))
    private struct Batch {
        var answers: [DynsecResponse?]
        var completion: Completion
        var timer: TimerID
        var operation: String
    }
    private var batches: [UInt64: Batch] = [:]
    public private(set) var sent: UInt64 = 0
    public private(set) var failures: UInt64 = 0
    /// Runs after every (re)connect once the response subscription is acknowledged.
    public var onReady: (() -> Void)?

    public init(reactor: Reactor, config: MQTTConfig, logger: Logger, timeout: Duration = .seconds(5)) {
        var c = config
        c.sessionExpirySeconds = 0  // clean: nothing queued for an admin session we are not holding
        c.statusTopic = nil
        self.reactor = reactor
        self.logger = logger
        self.timeout = timeout
        mqtt = MQTTClient(reactor: reactor, config: c, logger: logger)
        mqtt.subscribe(Self.responseTopic, qos: 0) { [unowned self] m in self.receive(m) }
        mqtt.onReady = { [unowned self] in self.onReady?() }
        mqtt.onDisconnect = { [unowned self] in self.failAll("admin connection to the broker lost") }
    }

    public func start() { mqtt.start() }

    public func stop() {
        failAll("stopping")
        mqtt.stop(flushLimit: .milliseconds(200))
    }

    public var isReady: Bool { mqtt.isReady }
    public var lastError: String? { mqtt.lastError }
    public var pendingCount: Int { batches.count }

    /// Sends `commands` as one message. Completes once every command is answered (in order), or with
    /// `brokerUnavailable` when the channel is down or the broker stays silent past the timeout —
    /// then the outcome is unknown and callers must make their next attempt idempotent.
    public func send(_ commands: [JSON], operation: String, _ completion: @escaping Completion) {
        guard mqtt.isReady else {
            failures += 1
            completion(.failure(PairingError(.brokerUnavailable, operation,
                                             "no dynsec admin connection to the broker (\(mqtt.lastError ?? "connecting"))")))
            return
        }
        nextID += 1
        let id = nextID
        var tagged: [JSON] = []
        for (i, c) in commands.enumerated() {
            guard case .object(var o) = c else { continue }
            o["correlationData"] = JSON("fc.\(tag).\(id).\(i)")
            tagged.append(.object(o))
        }
        let timer = reactor.schedule(after: timeout) { [unowned self] in
            self.finish(id, .failure(PairingError(.brokerUnavailable, operation, "the broker did not answer within \(self.timeout)")))
        }
        batches[id] = Batch(answers: Array(repeating: nil, count: tagged.count), completion: completion, timer: timer,
                            operation: operation)
        sent += 1
        let message: JSON = ["commands": .array(tagged)]
        if !mqtt.publish(MQTTMessage(topic: Self.requestTopic, payload: message.bytes, qos: 1)) {
            finish(id, .failure(PairingError(.brokerUnavailable, operation, "could not hand the command to the broker")))
        }
    }

    private func receive(_ m: MQTTMessage) {
        guard let json = try? JSON.parse(m.payload), let responses = json["responses"]?.array else {
            logger.warning("unreadable dynsec response: \(m.text.prefix(200))")
            return
        }
        var touched: Set<UInt64> = []
        for r in responses {
            guard let corr = r["correlationData"]?.string else { continue }
            let parts = corr.split(separator: ".")
            guard parts.count == 4, parts[0] == "fc", parts[1] == tag, let id = UInt64(parts[2]), let i = Int(parts[3]),
                  var b = batches[id],
                  i < b.answers.count else { continue }
            b.answers[i] = DynsecResponse(command: r["command"]?.string ?? "", error: r["error"]?.string, data: r["data"])
            batches[id] = b
            touched.insert(id)
        }
        for id in touched {
            guard let b = batches[id], b.answers.allSatisfy({ $0 != nil }) else { continue }
            finish(id, .success(b.answers.map { $0! }))
        }
    }

    private func finish(_ id: UInt64, _ result: Result<[DynsecResponse], PairingError>) {
        guard let b = batches.removeValue(forKey: id) else { return }
        reactor.cancel(b.timer)
        if case .failure(let e) = result {
            failures += 1
            logger.warning("dynsec \(b.operation): \(e.message)")
        }
        b.completion(result)
    }

    private func failAll(_ why: String) {
        for id in batches.keys.sorted() {
            finish(id, .failure(PairingError(.brokerUnavailable, batches[id]?.operation ?? "dynsec", why)))
        }
    }
}

@available(*, unavailable) extension DynsecClient: Sendable {}
