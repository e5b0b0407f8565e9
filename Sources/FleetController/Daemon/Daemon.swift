import CFleetShims
import DevicePairing
import DirectoryCache
import FleetJSON
import FleetLoop
import FleetStore
import Logging
import MQTTBridge
import SensorIngest

/// Wires every module onto one reactor: the three databases, the broker client with the device
/// request router, the directory sources, sensor ingest, the HTTP API, signals and systemd.
///
/// Data flow: an MQTT message → `MQTTClient` (loop thread) → `RequestRouter` for device requests
/// (→ `DirectoryCache.authorize` → audit row → reply) or an ingest subscription
/// (→ `SensorIngest.handle` → batch → `flush()` at the end of the tick → `telemetry.sqlite`).
/// An HTTP request → `HTTPServer` → `AdminAPI` → the same module façades.
final class Daemon {
    let reactor: Reactor
    let logger: Logger
    let environment: [String: String]
    var config: Configuration
    let startedAt: Double
    let directory: DirectoryCache
    let devices: DeviceRegistry
    let ingest: SensorIngest
    let telemetry: TelemetryStore
    let mqtt: MQTTClient
    let router: RequestRouter
    var http: HTTPServer?
    private var api: AdminAPI?
    let adminToken: String
    let systemd: SystemdNotify
    var syncTimers: [TimerID] = []
    var lastSync: [String: SyncRunResult] = [:]
    private var announcedReady = false
    var stoppedCleanly = false
    var ingestSubscribed: Set<String> = []

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

        // One file per owner: telemetry churn never touches the auth-critical directory.
        let state = config.stateDir
        do {
            directory = DirectoryCache(store: try DirectoryStore(path: "\(state)/directory.sqlite"), clock: reactor.clock,
                                       logger: Logger(label: "directory"), policy: Self.policy(config))
            devices = try DeviceRegistry(path: "\(state)/devices.sqlite", clock: reactor.clock)
            telemetry = try TelemetryStore(path: "\(state)/telemetry.sqlite")
        } catch {
            throw StartupError(description: "\(error)\n  The state directory is \(state). If a database is damaged, stop the daemon, move the file aside and start again: the directory re-syncs, devices come back from config.")
        }
        ingest = SensorIngest(store: telemetry, clock: reactor.clock, logger: Logger(label: "ingest"))

        var mc = MQTTConfig(clientID: config.broker.clientID ?? "fleet-controller-\(config.site)")
        if let socket = config.broker.socket { mc.host = socket; mc.port = 0 } else {
            mc.host = config.broker.host
            mc.port = Int32(config.broker.port)
        }
        mc.username = config.broker.username
        if let pf = config.broker.passwordFile {
            do { mc.password = try StateFiles.secret(pf) } catch { throw StartupError(description: "\(error)") }
        }
        mc.statusTopic = "\(config.broker.topicPrefix)/controller/status"
        mqtt = MQTTClient(reactor: reactor, config: mc, logger: Logger(label: "mqtt"))
        router = RequestRouter(client: mqtt, prefix: config.broker.topicPrefix, logger: Logger(label: "requests"))

        try applyInventory(config)
        installDeviceOps()
        installIngestSubscriptions(config)
        api = AdminAPI(daemon: self)
        do {
            http = try HTTPServer(reactor: reactor, host: config.httpHost, port: config.httpPort) { [unowned self] req in
                self.api!.handle(req)
            }
        } catch {
            throw StartupError(description: "cannot listen for HTTP on \(config.httpHost):\(config.httpPort): \(error); set [http] listen to a free address")
        }
    }

    static func policy(_ c: Configuration) -> AuthorizationPolicy {
        AuthorizationPolicy(maxCacheAge: c.maxCacheAge.seconds,
                            stale: AuthorizationPolicy.StaleMode(rawValue: c.stalePolicy) ?? .denyAllButAdmin)
    }

    /// Devices and sensors from config. A sensor whose model no decoder knows is a config error
    /// pointing at its line.
    func applyInventory(_ c: Configuration) throws {
        do {
            try devices.provision(c.devices.map {
                DeviceRecord(id: $0.id, kind: $0.kind, resource: $0.resource, name: $0.name,
                             minimumRole: $0.minimumRole, actions: $0.actions)
            })
        } catch { throw StartupError(description: "devices.sqlite: \(error)") }
        for s in ingest.sensors where !c.sensors.contains(where: { $0.devEUI == s.devEUI }) {
            ingest.unclaim(devEUI: s.devEUI)
        }
        for s in c.sensors {
            do {
                try ingest.claim(Sensor(devEUI: s.devEUI, vendor: s.vendor, model: s.model, resource: s.resource))
            } catch {
                throw ConfigError(file: c.file, line: s.line, key: "sensors", message: "\(error)")
            }
        }
    }

    // MARK: - Running

    func start() throws {
        try reactor.onSignal(SIGTERM) { [unowned self] in self.shutdown("SIGTERM") }
        try reactor.onSignal(SIGINT) { [unowned self] in self.shutdown("SIGINT") }
        try reactor.onSignal(SIGHUP) { [unowned self] in self.reload() }
        reactor.onTickEnd { [unowned self] in _ = self.ingest.flush() }
        mqtt.onReady = { [unowned self] in self.announceReady() }
        router.start()
        mqtt.start()
        scheduleSyncs()
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
        systemd.send("READY=1\nSTATUS=broker connected; \(devices.all.count) devices; \(ingest.sensors.count) sensors")
        logger.info("ready: databases open, broker subscribed")
    }

    func shutdown(_ why: String) {
        guard !reactor.isStopping else { return }
        logger.info("stopping (\(why))")
        systemd.send("STOPPING=1")
        _ = ingest.flush()
        mqtt.stop()
        http?.stop()
        stoppedCleanly = true
        reactor.stop()
    }

    /// SIGHUP: re-read the config file; on any error keep the running config and say why.
    func reload() {
        guard config.file != "(embedded defaults)" else {
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
            try applyInventory(fresh)
            installIngestSubscriptions(fresh)
            directory.policy = Self.policy(fresh)
            config.devices = fresh.devices
            config.sensors = fresh.sensors
            config.sources = fresh.sources
            config.subscriptions = fresh.subscriptions
            scheduleSyncs()
            logger.info("configuration reloaded from \(fresh.file)")
        } catch {
            logger.error("SIGHUP: configuration not reloaded, keeping the running one: \(error)")
        }
    }

    // MARK: - Health

    /// Empty when healthy; otherwise what is wrong, in words an operator can act on.
    var healthProblems: [String] {
        var problems: [String] = []
        if !mqtt.isConnected {
            problems.append("broker not connected (\(mqtt.endpoint))" + (mqtt.lastError.map { ": \($0)" } ?? ""))
        }
        if let age = directory.cacheAge, age > config.maxCacheAge.seconds {
            problems.append("directory cache is stale: last successful sync \(Int(age / 3600)) h ago")
        }
        for (name, r) in lastSync where r.status == .failed {
            problems.append("directory source \(name) failing: \(r.reason ?? "unknown")")
        }
        return problems
    }
}

@available(*, unavailable) extension Daemon: Sendable {}
