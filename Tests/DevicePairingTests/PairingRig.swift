import DevicePairing
import FleetJSON
import FleetLoop
import FleetTestSupport
import Logging
import MQTTBridge

/// The pairing service in this process against a real mosquitto set up by `fleet-controller broker
/// init`: the controller's own session, the dynsec admin channel, devices.sqlite in a temp dir.
/// Panels are MQTT clients in the same loop; `probe` asks the broker what an account may do.
final class PairingRig {
    let broker: BrokerHarness
    let accounts: BrokerHarness.DynsecAccounts
    let dir: String
    let reactor: Reactor
    let controller: MQTTClient
    let dynsec: DynsecClient
    let registry: DeviceRegistry
    let service: PairingService
    let probe: Probe
    private var panels: [MQTTClient] = []

    init(policy: PairingPolicy = PairingPolicy(), broker existing: BrokerHarness? = nil, dir existingDir: String? = nil,
         clock: any Clock = SystemClock()) throws {
        broker = try existing ?? BrokerHarness(dynsecWith: DaemonHarness.binary)
        accounts = broker.accounts!
        dir = existingDir ?? makeTempDir("fc-pairing")
        reactor = try Reactor(clock: clock)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var cc = MQTTConfig(clientID: "controller-\(broker.port)")
        cc.port = broker.port
        cc.username = accounts.controller.username
        cc.password = accounts.controller.password
        controller = MQTTClient(reactor: reactor, config: cc, logger: logger)
        var ac = MQTTConfig(clientID: "admin-\(broker.port)")
        ac.port = broker.port
        ac.username = accounts.admin.username
        ac.password = accounts.admin.password
        dynsec = DynsecClient(reactor: reactor, config: ac, logger: logger)
        registry = try DeviceRegistry(path: "\(dir)/devices.sqlite", clock: reactor.clock)
        var settings = PairingSettings()
        settings.policy = policy
        service = PairingService(reactor: reactor, mqtt: controller, dynsec: dynsec, registry: registry, settings: settings,
                                 logger: logger)
        probe = Probe(port: broker.port, dir: dir)
        service.start()
        controller.start()
        try run { self.controller.isReady && self.dynsec.isReady }
        // The first reconciliation runs as soon as the admin channel is up; wait for it.
        try run { self.service.lastReconcile != nil }
    }

    deinit {
        for p in panels { p.stop(flushLimit: .milliseconds(100)) }
        service.stop()
        controller.stop(flushLimit: .milliseconds(100))
        registry.close()
    }

    func run(limit: Duration = .seconds(10), until condition: () -> Bool) throws {
        let ok = try reactor.run(until: condition, limit: limit)
        if !ok { throw HarnessError("timed out waiting on the loop") }
    }

    /// A panel's MQTT session with the given account (not started).
    func client(_ user: String, _ password: String, clientID: String) -> MQTTClient {
        var c = MQTTConfig(clientID: clientID)
        c.port = broker.port
        c.username = user
        c.password = password
        c.sessionExpirySeconds = 0
        var logger = Logger(label: "panel")
        logger.logLevel = .critical
        let m = MQTTClient(reactor: reactor, config: c, logger: logger)
        panels.append(m)
        return m
    }

    static func hello(_ id: String, code: String, password: String? = nil, kind: String = "room_display") -> JSON {
        ["id": JSON(id), "kind": JSON(kind), "model": "RD-10", "firmware": "1.0.0",
         "password": JSON(password ?? "pw-\(id)-0123456789"), "code": JSON(code), "fingerprint": "AB12-CD"]
    }

    /// A panel says hello with the bootstrap account; returns once the controller lists it.
    func sayHello(_ id: String, code: String, password: String? = nil) throws {
        let b = client(accounts.bootstrap.username, accounts.bootstrap.password, clientID: "boot-\(id)")
        b.start()
        try run { b.isConnected }
        b.publish(MQTTMessage(topic: "fc/v1/pair/hello", payload: Self.hello(id, code: code, password: password).bytes, qos: 1))
        try run { self.service.pending.contains { $0.hello.deviceID == id && $0.hello.code == PairingCode.normalize(code) } }
        b.stop(flushLimit: .milliseconds(100))
    }

    /// Hello, code entered, account created: the panel is paired.
    func pair(_ id: String, code: String, resource: String = "hq/1", password: String? = nil) throws {
        try sayHello(id, code: code, password: password)
        let r = service.approve(code: code, resource: resource, name: "Room of \(id)")
        guard case .success = r else { throw HarnessError("approve: \(r)") }
        try run { self.service.outcomes[id] != .approving }
        guard case .paired? = service.outcomes[id] else { throw HarnessError("not paired: \(String(describing: service.outcomes[id]))") }
    }

    /// Runs a completion-style call on the loop and returns its result.
    func wait<T>(_ call: (@escaping (T) -> Void) -> Void) throws -> T {
        var out: T?
        call { out = $0 }
        try run { out != nil }
        return out!
    }
}
