import CFleetShims
import Glibc
import FleetLoop
import Logging

private let mosquittoInitialised: Void = { mosquitto_lib_init() }()

/// libmosquitto driven by the reactor through its external-loop API: we watch `mosquitto_socket()`,
/// call `loop_read`/`loop_write` on readiness, toggle write interest from `want_write` at the end of
/// each tick, run `loop_misc` on a 1 s timer, and reconnect ourselves with backoff (libmosquitto's
/// own reconnect delay applies only to its threaded loops). Every callback runs on the loop thread.
public final class MQTTClient {
    public typealias Handler = (MQTTMessage) -> Void

    let reactor: Reactor
    let config: MQTTConfig
    let logger: Logger
    let mosq: OpaquePointer
    private var registration: RegistrationID?
    private var miscTimer: TimerID?
    private var reconnectTimer: TimerID?
    private var tickHook: UInt64?
    private var policy = ReconnectPolicy()
    private var hasConnectedOnce = false
    private var stopping = false
    var subscriptions: [(filter: String, qos: Int32, handler: Handler)] = []
    private var pendingSubacks: Set<Int32> = []
    private var offlineQueue: [MQTTMessage] = []
    private var inflight: Set<Int32> = []
    public private(set) var stats = MQTTStats()
    public private(set) var isConnected = false
    /// Connected, and every subscription acknowledged by the broker.
    public var isReady: Bool { isConnected && pendingSubacks.isEmpty }
    public private(set) var lastError: String?
    public var onReady: (() -> Void)?
    /// Runs when the bulk window has room again after `publishBulk` refused.
    public var onBulkWindowOpen: (() -> Void)?
    private var bulkRefused = false
    public var onDisconnect: (() -> Void)?
    /// Packets read per readiness event at most (well under a millisecond of ingest work).
    static let readBudget = 32

    public init(reactor: Reactor, config: MQTTConfig, logger: Logger) {
        _ = mosquittoInitialised
        self.reactor = reactor
        self.config = config
        self.logger = logger
        // clean_start is false so the broker keeps our session (subscriptions, queued QoS 1) across
        // reconnects; for v5 the session expiry property decides how long.
        mosq = mosquitto_new(config.clientID, config.sessionExpirySeconds == 0, nil)!
        mosquitto_user_data_set(mosq, Unmanaged.passUnretained(self).toOpaque())
        let version = config.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, version)
        // Nagle against delayed ACKs costs ~44 ms per request/response hop; doors cannot wait.
        mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1)
        if let u = config.username { mosquitto_username_pw_set(mosq, u, config.password) }
        if let status = config.statusTopic {
            mosquitto_will_set(mosq, status, 7, "offline", 1, true)
        }
        installCallbacks()
    }

    deinit {
        if let r = registration { reactor.deregister(r) }
        for t in [miscTimer, reconnectTimer].compactMap({ $0 }) { reactor.cancel(t) }
        if let h = tickHook { reactor.removeTickHook(h) }
        mosquitto_destroy(mosq)
    }

    static func from(_ obj: UnsafeMutableRawPointer?) -> MQTTClient {
        Unmanaged<MQTTClient>.fromOpaque(obj!).takeUnretainedValue()
    }

    // MARK: - Lifecycle

    /// Connects now and keeps reconnecting until `stop()`. Failures are logged and retried.
    public func start() {
        stopping = false
        if tickHook == nil { tickHook = reactor.onTickEnd { [unowned self] in self.updateWriteInterest() } }
        if miscTimer == nil {
            miscTimer = reactor.every(.seconds(1)) { [unowned self] in
                if self.isConnected { _ = mosquitto_loop_misc(self.mosq) }
            }
        }
        connect()
    }

    /// Publishes the retained "offline" status (a clean disconnect suppresses the Last Will), sends
    /// what is queued, and disconnects.
    public func stop(flushLimit: Duration = .seconds(2)) {
        stopping = true
        if let t = reconnectTimer { reactor.cancel(t); reconnectTimer = nil }
        if isConnected {
            if let status = config.statusTopic {
                _ = publish(MQTTMessage(topic: status, payload: Array("offline".utf8), qos: 1, retain: true))
            }
            _ = try? reactor.run(until: { [unowned self] in self.inflight.isEmpty || !self.isConnected }, limit: flushLimit)
            mosquitto_disconnect(mosq)
            while mosquitto_want_write(mosq) && mosquitto_loop_write(mosq, 1) == Int32(MOSQ_ERR_SUCCESS.rawValue) {}
        }
        dropSocket()
        isConnected = false
    }

    private func connect() {
        reconnectTimer = nil
        let rc: Int32
        if !hasConnectedOnce {
            var props: OpaquePointer?
            if config.protocolVersion == .v5 && config.sessionExpirySeconds > 0 {
                mosquitto_property_add_int32(&props, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue),
                                             config.sessionExpirySeconds)
            }
            // Blocking connect: to loopback or a Unix socket it completes at once; the CONNACK arrives
            // through the loop. libmosquitto keeps host, port and properties for mosquitto_reconnect.
            rc = mosquitto_connect_bind_v5(mosq, config.host, config.port, config.keepAliveSeconds, nil, props)
            mosquitto_property_free_all(&props)
        } else {
            rc = mosquitto_reconnect(mosq)
        }
        guard rc == Int32(MOSQ_ERR_SUCCESS.rawValue) else {
            connectFailed(MQTTError(code: rc, operation: "connect \(endpoint)"))
            return
        }
        hasConnectedOnce = true
        let fd = mosquitto_socket(mosq)
        do {
            registration = try reactor.register(fd: fd, interest: .readWrite, urgent: config.urgent) { [unowned self] r in
                self.service(r)
            }
        } catch {
            connectFailed(MQTTError(code: Int32(MOSQ_ERR_ERRNO.rawValue), operation: "\(error)"))
        }
    }

    public var endpoint: String { config.port == 0 ? "unix:\(config.host)" : "\(config.host):\(config.port)" }

    private func connectFailed(_ error: MQTTError) {
        stats.connectFailures += 1
        let text = error.description
        // Log a failure once until it changes, not on every retry.
        if text != lastError { logger.warning("broker unreachable: \(text); retrying with backoff") }
        lastError = text
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        guard !stopping, reconnectTimer == nil else { return }
        let delay = policy.nextDelay()
        reconnectTimer = reactor.schedule(after: delay) { [unowned self] in self.connect() }
    }

    private func dropSocket() {
        if let r = registration { reactor.deregister(r); registration = nil }
    }

    // MARK: - Loop integration

    private func service(_ r: Readiness) {
        var rc = Int32(MOSQ_ERR_SUCCESS.rawValue)
        if r.contains(.readable) || r.contains(.hangup) || r.contains(.error) {
            // One packet per mosquitto_loop_read, up to `readBudget` per readiness event, so a flood
            // costs neither a loop pass per message nor an unbounded callback (measured on the
            // ingest flood: 32 → 24 µs of CPU per uplink). libmosquitto keeps reading inside one
            // call while its QoS queues hold messages and errno is not EAGAIN, so errno is EAGAIN
            // before each call and after each callback (see MQTTClient+Callbacks). Whether the
            // socket is drained comes from its own queue, not from errno: every publish made inside
            // a callback also pokes libmosquitto's wake-up socketpair, which nobody reads in an
            // external loop, so it fills and leaves EAGAIN behind. Taken as "drained", that read
            // one packet per loop pass, and a door's request waited behind the backlog for 40 ms
            // while a sync applied and sensors were ingested. (The broker is local and plain; with
            // TLS, records OpenSSL already read would not show in the socket's queue.) A bulk
            // session also stops early when an urgent one has a request waiting.
            let fd = mosquitto_socket(mosq)
            for packet in 1...Self.readBudget {
                errno = EAGAIN
                rc = mosquitto_loop_read(mosq, 1)
                if rc != Int32(MOSQ_ERR_SUCCESS.rawValue) || registration == nil { break }
                if cfs_socket_unread_bytes(fd) <= 0 { break }
                if !config.urgent && packet % 8 == 0 && reactor.hasUrgentInput { break }
            }
        }
        // Replies and PUBACKs that the handlers just queued (libmosquitto only queues a publish
        // made inside its callback) go out now, not at the end of the tick: a door's answer
        // otherwise waited for every callback after this one and for the telemetry commit.
        // The write never blocks; what the socket does not take waits for write readiness.
        if rc == Int32(MOSQ_ERR_SUCCESS.rawValue) && (r.contains(.writable) || mosquitto_want_write(mosq)) {
            rc = mosquitto_loop_write(mosq, 1)
        }
        // On failure libmosquitto already closed the socket and ran on_disconnect; make sure we
        // stop watching the dead fd and retry even if no callback ran (e.g. before CONNACK).
        if rc != Int32(MOSQ_ERR_SUCCESS.rawValue) && registration != nil {
            handleDisconnect(rc: rc)
        }
    }

    /// Replies published from inside callbacks are only queued by libmosquitto, so write interest is
    /// re-evaluated after every tick rather than after each call.
    private func updateWriteInterest() {
        guard let r = registration else { return }
        let want: Interest = mosquitto_want_write(mosq) ? .readWrite : .read
        do { try reactor.modify(r, interest: want) } catch { handleDisconnect(rc: Int32(MOSQ_ERR_ERRNO.rawValue)) }
    }

    func handleConnack(rc: Int32) {
        guard rc == 0 else {
            let text = "broker refused connection: \(String(cString: mosquitto_reason_string(rc)))"
            if text != lastError { logger.error("\(text); check [broker] username and password_file") }
            lastError = text
            stats.connectFailures += 1
            return  // the broker closes the socket; the read error leads to a reconnect
        }
        isConnected = true
        lastError = nil
        policy.reset()
        stats.connects += 1
        logger.info("connected to broker \(endpoint) as \(config.clientID)")
        pendingSubacks.removeAll()
        // Always resubscribe: cheap, and correct even when the broker lost our session.
        for sub in subscriptions { sendSubscribe(sub.filter, qos: sub.qos) }
        if let status = config.statusTopic {
            _ = publish(MQTTMessage(topic: status, payload: Array("online".utf8), qos: 1, retain: true))
        }
        let queued = offlineQueue
        offlineQueue.removeAll()
        for m in queued { _ = publish(m) }
        if pendingSubacks.isEmpty { onReady?() }
        if bulkRefused && inflight.count <= config.bulkWindow / 2 {
            bulkRefused = false
            onBulkWindowOpen?()
        }
    }

    func handleSuback(mid: Int32) {
        pendingSubacks.remove(mid)
        if isConnected && pendingSubacks.isEmpty { onReady?() }
    }

    func handlePuback(mid: Int32) {
        inflight.remove(mid)
        if bulkRefused && inflight.count <= config.bulkWindow / 2 {
            bulkRefused = false
            onBulkWindowOpen?()
        }
    }

    func handleDisconnect(rc: Int32) {
        dropSocket()
        let wasConnected = isConnected
        isConnected = false
        inflight.removeAll()
        bulkRefused = true  // the window reopens with the next connection's acknowledgements
        if wasConnected {
            stats.disconnects += 1
            if !stopping { logger.warning("lost broker connection (\(String(cString: mosquitto_strerror(rc)))); reconnecting") }
            onDisconnect?()
        }
        scheduleReconnect()
    }

    func deliver(_ message: MQTTMessage) {
        stats.received += 1
        for sub in subscriptions where Topic.matches(filter: sub.filter, topic: message.topic) {
            sub.handler(message)
        }
    }

    // MARK: - Subscribing and publishing

    /// Adds a subscription, kept across reconnects. Handlers of every matching filter run.
    public func subscribe(_ filter: String, qos: Int32 = 1, _ handler: @escaping Handler) {
        subscriptions.append((filter, qos, handler))
        if isConnected { sendSubscribe(filter, qos: qos) }
    }

    private func sendSubscribe(_ filter: String, qos: Int32) {
        var mid: Int32 = 0
        let rc = mosquitto_subscribe_v5(mosq, &mid, filter, qos, 0, nil)
        if rc == Int32(MOSQ_ERR_SUCCESS.rawValue) { pendingSubacks.insert(mid) } else {
            logger.error("\(MQTTError(code: rc, operation: "subscribe \(filter)"))")
        }
    }

    /// Sends `message` now, or queues it while disconnected. Returns false (and counts a drop) when
    /// the offline queue or the QoS 1 window is full.
    @discardableResult
    public func publish(_ message: MQTTMessage) -> Bool {
        guard isConnected else {
            guard offlineQueue.count < config.maxQueuedWhileOffline else { stats.dropped += 1; return false }
            offlineQueue.append(message)
            return true
        }
        if message.qos > 0 && inflight.count >= config.maxInflight { stats.dropped += 1; return false }
        var props: OpaquePointer?
        defer { mosquitto_property_free_all(&props) }
        if config.protocolVersion == .v5 {
            if let rt = message.responseTopic {
                mosquitto_property_add_string(&props, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), rt)
            }
            if let cd = message.correlationData {
                cd.withUnsafeBytes { buf in
                    _ = mosquitto_property_add_binary(&props, Int32(MQTT_PROP_CORRELATION_DATA.rawValue),
                                                      buf.baseAddress, UInt16(buf.count))
                }
            }
        }
        var mid: Int32 = 0
        let rc = message.payload.withUnsafeBytes { buf in
            mosquitto_publish_v5(mosq, &mid, message.topic, Int32(buf.count), buf.baseAddress,
                                 message.qos, message.retain, props)
        }
        guard rc == Int32(MOSQ_ERR_SUCCESS.rawValue) else {
            stats.dropped += 1
            logger.warning("\(MQTTError(code: rc, operation: "publish \(message.topic)"))")
            return false
        }
        if message.qos > 0 { inflight.insert(mid) }
        stats.published += 1
        return true
    }

    /// Publishes bulk traffic only while fewer than `bulkWindow` QoS 1 messages are unacknowledged
    /// (and only while connected); false means "not now": keep it and retry from `onBulkWindowOpen`.
    public func publishBulk(_ message: MQTTMessage) -> Bool {
        guard isConnected, inflight.count < config.bulkWindow else {
            bulkRefused = true
            return false
        }
        return publish(message)
    }

    public var inflightCount: Int { inflight.count }
    public var offlineQueueCount: Int { offlineQueue.count }
}

@available(*, unavailable) extension MQTTClient: Sendable {}
