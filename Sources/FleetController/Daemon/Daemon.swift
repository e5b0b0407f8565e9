import CFleetShims
import FleetJSON
import FleetLoop
import Logging
import MQTTBridge

/// Wires every feature onto one reactor: the broker client with the device request router, the
/// HTTP API, signals and systemd. Each capability lives in a `Feature` (Features/).
///
/// Data flow: an MQTT message → `MQTTClient` (loop thread) → `RequestRouter` for device requests
/// (→ `DirectoryFeature` → `DirectoryCache.authorize` → audit row → reply) or an ingest subscription
/// (→ `IngestFeature` → `SensorIngest.handle` → batch → `flush()` at the end of the tick →
/// `telemetry.sqlite`). An HTTP request → `HTTPServer` → `AdminAPI` → a feature's route.
final class Daemon {
    let reactor: Reactor
    let logger: Logger
    let environment: [String: String]
    private(set) var config: Configuration
    let startedAt: Double
    let mqtt: MQTTClient
    /// The sensor traffic's own session (see ``FeatureContext/sensorMQTT``).
    let sensorMQTT: MQTTClient
    let requests: RequestRouter
    let devices: DeviceFeature
    let directory: DirectoryFeature
    let ingest: IngestFeature
    let features: [any Feature]
    private var http: HTTPServer?
    private var api: AdminAPI?
    let adminToken: String
    private let systemd: SystemdNotify
    private var announcedReady = false
    /// Sessions whose subscriptions the broker has acknowledged (READY=1 waits for both; a
    /// reconnect of one must not count twice).
    private var readySessions: Set<ObjectIdentifier> = []

    struct StartupError: Error, CustomStringConvertible {
        var description: String
    }

    init(config: Configuration, environment: [String: String], reactor: Reactor) throws {
        self.config = config
        self.environment = environment
        self.reactor = reactor
        logger = Logger(label: "fleet-controller")
        startedAt = reactor.clock.unixTime
        systemd = SystemdNotify(environment: environment)
        do {
            try StateFiles.ensureDirectory(config.stateDir)
            adminToken = try StateFiles.adminToken(stateDir: config.stateDir)
        } catch { throw StartupError(description: "\(error)") }

        var mc = MQTTConfig(clientID: config.broker.clientID ?? "fleet-controller-\(config.site)")
        if let socket = config.broker.socket { mc.host = socket; mc.port = 0 } else {
            mc.host = config.broker.host
            mc.port = Int32(config.broker.port)
        }
        mc.username = config.broker.username
        if let pf = config.broker.passwordFile {
            do { mc.password = try StateFiles.secret(pf) } catch { throw StartupError(description: "\(error)") }
        }
        var sensors = mc
        sensors.clientID = mc.clientID + "-sensors"
        mc.urgent = true  // device requests: a person is waiting at the door
        mc.statusTopic = "\(config.broker.topicPrefix)/controller/status"
        mqtt = MQTTClient(reactor: reactor, config: mc, logger: Logger(label: "mqtt"))
        sensorMQTT = MQTTClient(reactor: reactor, config: sensors, logger: Logger(label: "mqtt-sensors"))
        requests = RequestRouter(client: mqtt, prefix: config.broker.topicPrefix, logger: Logger(label: "requests"))

        // One database file per feature: telemetry churn never touches the auth-critical directory.
        let context = FeatureContext(reactor: reactor, mqtt: mqtt, sensorMQTT: sensorMQTT, requests: requests,
                                     config: config, logger: logger)
        do {
            let devices = try DeviceFeature(context)
            self.devices = devices
            directory = try DirectoryFeature(context, devices: { [unowned devices] in devices.context($0) })
            ingest = try IngestFeature(context, gateway: { [unowned devices] in
                devices.gateway(topic: $0).map { ($0.format, $0.timeZone) }
            })
        } catch let e as ConfigError {
            throw e
        } catch {
            throw StartupError(description: "\(error)\n  The state directory is \(config.stateDir). If a database is damaged, stop the daemon, move the file aside and start again: the directory re-syncs, devices come back from config.")
        }
        features = [devices, directory, ingest]
        api = AdminAPI(daemon: self)
        do {
            http = try HTTPServer(reactor: reactor, host: config.httpHost, port: config.httpPort) { [unowned self] req in
                self.api!.handle(req)
            }
        } catch {
            throw StartupError(description: "cannot listen for HTTP on \(config.httpHost):\(config.httpPort): \(error); set [http] listen to a free address")
        }
    }

    // MARK: - Running

    func start() throws {
        try reactor.onSignal(SIGTERM) { [unowned self] in self.shutdown("SIGTERM") }
        try reactor.onSignal(SIGINT) { [unowned self] in self.shutdown("SIGINT") }
        try reactor.onSignal(SIGHUP) { [unowned self] in self.reload() }
        for client in [mqtt, sensorMQTT] {
            client.onReady = { [unowned self, unowned client] in
                self.readySessions.insert(ObjectIdentifier(client))
                if self.readySessions.count == 2 { self.announceReady() }
            }
        }
        for f in features { f.start() }
        requests.start()
        mqtt.start()
        sensorMQTT.start()
        if let interval = systemd.watchdogInterval {
            var lastBeat = reactor.clock.now
            reactor.every(interval) { [unowned self] in
                // Only a loop that serves its timers on time is healthy: a stall of half the
                // watchdog period withholds the beat and lets systemd restart us.
                let now = self.reactor.clock.now
                if now.since(lastBeat) < interval + interval / 2 { self.systemd.send("WATCHDOG=1") }
                lastBeat = now
            }
        }
        logger.info("fleet-controller started", metadata: [
            "state": "\(config.stateDir)", "http": "\(config.httpHost):\(http?.port ?? 0)",
            "broker": "\(mqtt.endpoint)", "config": "\(config.file)",
        ])
    }

    private func announceReady() {
        guard !announcedReady else { return }
        announcedReady = true
        systemd.send("READY=1\nSTATUS=broker connected")
        logger.info("ready: databases open, broker subscribed")
    }

    func shutdown(_ why: String) {
        guard !reactor.isStopping else { return }
        logger.info("stopping (\(why))")
        systemd.send("STOPPING=1")
        for f in features { f.shutdown() }
        mqtt.stop()
        sensorMQTT.stop()
        http?.stop()
        reactor.stop()
    }

    /// SIGHUP: re-read the config file; on any error keep the running config and say why.
    func reload() {
        guard config.file != Configuration.embeddedName else {
            logger.info("SIGHUP: running on embedded defaults, nothing to reload")
            return
        }
        do {
            let fresh = try Configuration.load(path: config.file, environment: environment)
            if fresh.broker.host != config.broker.host || fresh.broker.port != config.broker.port
                || fresh.broker.socket != config.broker.socket || fresh.httpPort != config.httpPort
                || fresh.stateDir != config.stateDir {
                logger.warning("SIGHUP: [broker], [http] and [state] changes take effect after a restart")
            }
            for f in features { try f.reload(fresh) }
            config = fresh
            logger.info("configuration reloaded from \(fresh.file)")
        } catch {
            logger.error("SIGHUP: configuration not reloaded, keeping the running one: \(error)")
        }
    }

    // MARK: - Health, metrics

    /// Empty when healthy; otherwise what is wrong, in words an operator can act on.
    var healthProblems: [String] {
        var problems: [String] = []
        for (client, what) in [(mqtt, "broker"), (sensorMQTT, "broker (sensor session)")] where !client.isConnected {
            problems.append("\(what) not connected (\(client.endpoint))" + (client.lastError.map { ": \($0)" } ?? ""))
        }
        for f in features { problems += f.healthProblems }
        return problems
    }

    func metrics() -> String {
        var m = MetricsWriter()
        let sessions = [("devices", mqtt), ("sensors", sensorMQTT)]
        func each(_ value: (MQTTClient) -> Double) -> [(String, Double)] {
            sessions.map { ("{session=\"\($0.0)\"}", value($0.1)) }
        }
        m.metric("fleet_broker_connected", "gauge", "1 while connected to the broker.", each { $0.isConnected ? 1 : 0 })
        m.metric("fleet_mqtt_messages_received_total", "counter", "Messages received from the broker.",
                 each { Double($0.stats.received) })
        m.metric("fleet_mqtt_messages_published_total", "counter", "Messages handed to the broker.",
                 each { Double($0.stats.published) })
        m.metric("fleet_mqtt_messages_dropped_total", "counter", "Outgoing messages dropped (queue full).",
                 each { Double($0.stats.dropped) })
        m.metric("fleet_mqtt_connects_total", "counter", "Successful broker connections.", each { Double($0.stats.connects) })
        m.metric("fleet_device_requests_total", "counter", "Device requests by outcome.",
                 [("{outcome=\"answered\"}", Double(requests.answered)), ("{outcome=\"rejected\"}", Double(requests.rejected))])
        m.metric("fleet_loop_lag_seconds", "summary", "How late the event loop ran its timers.", [
            ("{quantile=\"0.5\"}", reactor.lag.quantileMS(0.5) / 1000), ("{quantile=\"0.99\"}", reactor.lag.quantileMS(0.99) / 1000),
            ("{quantile=\"1\"}", reactor.lag.maxMS / 1000),
        ])
        m.counter("fleet_loop_urgent_dispatches_total",
                  "Device requests served between two callbacks of a busy loop pass instead of after it.",
                  Double(reactor.urgentDispatches))
        // Which callbacks held the loop past 2 ms: where to look when the lag above grows.
        let slow = reactor.slowCallbacks.slowest(10)
        m.metric("fleet_loop_slow_callbacks_total", "counter", "Loop callbacks over 2 ms, by the code that registered them.",
                 slow.map { ("{site=\"\($0.site)\"}", Double($0.count)) })
        m.metric("fleet_loop_slow_callback_max_seconds", "gauge", "The longest run of each slow callback site.",
                 slow.map { ("{site=\"\($0.site)\"}", $0.maxMS / 1000) })
        m.counter("fleet_http_requests_total", "HTTP requests served.", Double(http?.requestsServed ?? 0))
        let (rss, threads) = Self.processStats()
        m.gauge("fleet_process_resident_memory_bytes", "Resident set size.", rss)
        m.gauge("fleet_process_threads", "Threads in the process (one event loop: 1).", threads)
        for f in features { f.writeMetrics(&m) }
        return m.text
    }

    /// RSS and thread count from /proc/self/status.
    static func processStats() -> (rss: Double, threads: Double) {
        guard let text = try? readTextFile("/proc/self/status") else { return (0, 0) }
        var rss = 0.0, threads = 0.0
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("VmRSS:"), fields.count >= 2 { rss = (Double(fields[1]) ?? 0) * 1024 }
            if line.hasPrefix("Threads:"), fields.count >= 2 { threads = Double(fields[1]) ?? 0 }
        }
        return (rss, threads)
    }
}

@available(*, unavailable) extension Daemon: Sendable {}
