import DevicePairing
import DirectoryCache
import FleetJSON
import FleetLoop
import Logging
import MQTTBridge

/// Devices and pairing: pre-provisioned devices from config, panels paired by code with their own
/// broker accounts (through the dynsec admin channel), gateways, presence and reconciliation.
final class DeviceFeature: Feature {
    let registry: DeviceRegistry
    let pairing: PairingService
    let context: FeatureContext
    var operations = OperationLog()
    /// The config as last loaded, for `[[resources]]` policies.
    private var config: Configuration

    init(_ context: FeatureContext) throws {
        self.context = context
        let c = context.config
        config = c
        registry = try DeviceRegistry(path: "\(c.stateDir)/devices.sqlite", clock: context.reactor.clock)
        var dynsec: DynsecClient?
        if let admin = c.broker.adminUsername, let file = c.broker.adminPasswordFile {
            var mc = MQTTConfig(clientID: "fleet-controller-admin-\(c.site)")
            if let socket = c.broker.socket { mc.host = socket; mc.port = 0 } else {
                mc.host = c.broker.host
                mc.port = Int32(c.broker.port)
            }
            mc.username = admin
            do { mc.password = try StateFiles.secret(file) } catch {
                throw ConfigError(file: c.file, line: nil, key: "broker.admin_password_file",
                                  message: "\(error); `fleet-controller broker init` writes it as admin.secret")
            }
            dynsec = DynsecClient(reactor: context.reactor, config: mc, logger: Logger(label: "dynsec"))
        }
        var settings = PairingSettings()
        settings.prefix = c.broker.topicPrefix
        settings.policy = c.pairing.policy
        settings.bootstrapUsername = c.pairing.bootstrapUsername
        pairing = PairingService(reactor: context.reactor, mqtt: context.mqtt, dynsec: dynsec, registry: registry,
                                 settings: settings, logger: Logger(label: "pairing"))
        pairing.crashAfterAccountCreated = processEnvironment()["FLEET_TEST_CRASH_AFTER_ACCOUNT"] == "1"
        try provision(c)
        context.requests.on("status") { [unowned self] req in
            self.registry.touch(req.deviceID)
            return ["controller": "online", "known_device": .bool(self.registry.device(req.deviceID) != nil)]
        }
    }

    func start() { pairing.start() }
    func shutdown() { pairing.stop() }
    func reload(_ config: Configuration) throws {
        try provision(config)
        self.config = config
    }

    private func provision(_ c: Configuration) throws {
        try registry.provision(c.devices.map {
            DeviceRecord(id: $0.id, kind: $0.kind, resource: $0.resource, name: $0.name,
                         minimumRole: $0.minimumRole, actions: $0.actions)
        })
    }

    /// The policy a device carries into an authorization decision; nil for a device we do not know
    /// or one that is disabled.
    func context(_ id: String) -> DeviceContext? {
        guard let d = registry.device(id), !d.disabled else { return nil }
        var ctx = DeviceContext(id: d.id, kind: d.kind, resource: d.resource)
        let resource = config.resourcePolicy(for: d.resource)
        if let r = (d.minimumRole ?? resource?.minimumRole).flatMap({ Role(text: $0) }) { ctx.minimumRole = r }
        if let a = d.actions ?? resource?.actions { ctx.allowedActions = Set(a.map { Action(rawValue: $0) }) }
        return ctx
    }

    /// For the ingest side: the registered gateway publishing on `topic`
    /// (`<prefix>/ingest/<name>/…`), nil for an unknown gateway.
    func gateway(topic: String) -> GatewayRecord? {
        let levels = Topic.levels(topic), base = Topic.levels(context.config.broker.topicPrefix).count
        guard levels.count > base + 1, levels[base] == "ingest" else { return nil }
        return registry.gateway(String(levels[base + 1]))
    }

    var healthProblems: [String] {
        var p: [String] = []
        if pairing.isEnabled && !(pairing.dynsec?.isReady ?? false) {
            p.append("dynsec admin channel not connected (\(pairing.dynsec?.lastError ?? "connecting")); pairing and device changes wait for it; check [broker] admin_username")
        }
        if !pairing.accountMissing.isEmpty {
            p.append("paired devices without a broker account: \(pairing.accountMissing.sorted().joined(separator: ", ")); pair them again with `devices replace ID CODE`")
        }
        return p
    }

    func writeMetrics(_ m: inout MetricsWriter) {
        let c = pairing.counters
        m.metric("fleet_pairing_events_total", "counter", "Pairing events by kind.", [
            ("{event=\"hello\"}", Double(c.hellos)), ("{event=\"hello_rejected\"}", Double(c.hellosRejected)),
            ("{event=\"hello_dropped\"}", Double(c.hellosDropped)),
            ("{event=\"paired\"}", Double(c.paired)), ("{event=\"wrong_code\"}", Double(c.wrongCodes)),
            ("{event=\"failed\"}", Double(c.failed)),
        ])
        m.gauge("fleet_pairing_pending", "Panels waiting for an installer.", Double(pairing.pending.count))
        m.gauge("fleet_devices", "Known devices.", Double(registry.all.count))
        m.gauge("fleet_devices_online", "Devices whose retained presence says online.",
                Double(registry.all.filter { $0.online == true }.count))
    }

    var status: [(String, JSON)] {
        [("devices", JSON(registry.all.count)),
         ("pairing", ["enabled": .bool(pairing.isEnabled), "pending": JSON(pairing.pending.count),
                      "admin_channel": .bool(pairing.dynsec?.isReady ?? false),
                      "accounts_missing": JSON(pairing.accountMissing.count)])]
    }

    static func json(_ d: DeviceRecord) -> JSON {
        ["id": JSON(d.id), "kind": JSON(d.kind), "resource": JSON(d.resource), "name": JSON(d.name),
         "origin": JSON(d.origin), "model": JSON(d.model), "firmware": JSON(d.firmware),
         "fingerprint": JSON(d.fingerprint), "created_at": JSON(d.createdAt),
         "paired_at": d.pairedAt.map { JSON($0) } ?? .null, "last_seen": d.lastSeen.map { JSON($0) } ?? .null,
         "online": d.online.map { JSON.bool($0) } ?? .null, "disabled": .bool(d.disabled),
         "has_account": .bool(d.hasAccount)]
    }
}

/// Broker changes finish after the HTTP answer (the dynsec reply arrives later on the loop): such
/// requests answer 202 with an operation id, and `GET /api/v1/operations/{id}` tells the outcome.
struct OperationLog {
    enum State { case running, succeeded(JSON), failed(Int, String, String) }
    private var states: [Int: State] = [:]
    private var order: [Int] = []
    private var next = 0

    mutating func start() -> Int {
        next += 1
        states[next] = .running
        order.append(next)
        if order.count > 500 { states[order.removeFirst()] = nil }
        return next
    }

    mutating func finish(_ id: Int, _ state: State) { if states[id] != nil { states[id] = state } }
    func state(_ id: Int) -> State? { states[id] }
}

@available(*, unavailable) extension DeviceFeature: Sendable {}
