import FleetJSON
import FleetLoop
import Glibc
import Logging
import MQTTBridge

/// Where pairing lives on the broker and how strict it is.
public struct PairingSettings: Sendable {
    public var prefix = "fc/v1"
    public var policy = PairingPolicy()
    /// The account panels say hello with; shown in the installer's instructions.
    public var bootstrapUsername: String?
    public init() {}
}

/// What became of an installer's approval, for `GET /api/v1/pairings/{id}`.
public enum PairingOutcome: Sendable, Equatable {
    case approving
    case paired(at: Double)
    case failed(String)
}

/// The pairing façade: hellos from the broker → `PairingMachine` → broker accounts through the
/// dynsec admin channel → `devices.sqlite` → retained config to the device. Also device management
/// (rename, move, disable, rotate, unpair, replace), gateways, presence and reconciliation.
///
/// Order of writes for a pairing: the broker account first, then the device row. A crash in
/// between leaves an account with no device, which reconciliation deletes at the next start; a
/// device row never exists without its account having been created.
public final class PairingService {
    let reactor: Reactor
    let mqtt: MQTTClient
    public let dynsec: DynsecClient?
    public let registry: DeviceRegistry
    let settings: PairingSettings
    let logger: Logger
    var machine: PairingMachine
    struct Slot {
        var resource: String
        var name: String?
        var replacing: String?
    }
    var slots: [String: Slot] = [:]
    public private(set) var outcomes: [String: PairingOutcome] = [:]
    /// Paired devices whose broker account is gone (found by reconciliation).
    public internal(set) var accountMissing: Set<String> = []
    public internal(set) var lastReconcile: (at: Double, removed: Int, missing: Int)?
    public internal(set) var counters = Counters()
    private var warned: Set<String> = []
    var helloBudget = TokenBucket(rate: 200, capacity: 400)
    /// Pending panels written to devices.sqlite.
    private var persisted: Set<String> = []
    /// Test hook: a crash right after the broker account is created, before the device is recorded.
    public var crashAfterAccountCreated = false

    public struct Counters: Sendable {
        public var hellos: UInt64 = 0
        public var hellosRejected: UInt64 = 0
        public var hellosDropped: UInt64 = 0
        public var paired: UInt64 = 0
        public var wrongCodes: UInt64 = 0
        public var failed: UInt64 = 0
    }

    public init(reactor: Reactor, mqtt: MQTTClient, dynsec: DynsecClient?, registry: DeviceRegistry,
                settings: PairingSettings, logger: Logger) {
        self.reactor = reactor
        self.mqtt = mqtt
        self.dynsec = dynsec
        self.registry = registry
        self.settings = settings
        self.logger = logger
        machine = PairingMachine(policy: settings.policy)
    }

    var prefix: String { settings.prefix }
    var now: Double { reactor.clock.unixTime }
    public var isEnabled: Bool { dynsec != nil }

    /// Subscribes to hellos and presence, expires codes every second, and reconciles the broker's
    /// accounts with the registry whenever the admin channel (re)connects.
    public func start() {
        restorePending()
        // A retained hello would come back after every restart with a stale code: only live ones count.
        mqtt.subscribe("\(prefix)/pair/hello", qos: 1) { [unowned self] m in if !m.retain { self.receiveHello(m.payload) } }
        mqtt.subscribe("\(prefix)/dev/+/up/presence/state", qos: 1) { [unowned self] m in self.receivePresence(m) }
        reactor.every(.seconds(1)) { [unowned self] in
            self.apply(self.machine.handle(.tick, now: self.now))
            self.forgetGonePending()
        }
        if let dynsec {
            dynsec.onReady = { [unowned self] in self.reconcile() }
            dynsec.start()
        }
    }

    public func stop() { dynsec?.stop() }

    public var pending: [PendingPairing] { machine.pending.values.sorted { $0.receivedAt < $1.receivedAt } }
    public var attemptsLeft: Int { machine.attemptsLeft(now: now) }
    public var cooldownUntil: Double? { machine.cooldownUntil.flatMap { $0 > now ? $0 : nil } }

    // MARK: - Hello

    func receiveHello(_ payload: [UInt8]) {
        counters.hellos += 1
        guard helloBudget.take(now: now) else {
            counters.hellosDropped += 1
            warnOnce("flood", "more than \(Int(helloBudget.rate)) pairing hellos a second: dropping the excess (panels repeat theirs)")
            return
        }
        let hello: PairingHello
        do { hello = try PairingHello.decode(payload) } catch {
            counters.hellosRejected += 1
            warnOnce("hello:\(error.field ?? error.message)", "rejected a pairing hello: \(error)")
            return
        }
        if let d = registry.device(hello.deviceID), d.hasAccount {
            counters.hellosRejected += 1
            warnOnce("paired:\(hello.deviceID)",
                     "\(hello.deviceID) says hello but is already paired; unpair it or replace it to pair it again")
            return
        }
        let t = now
        apply(machine.handle(.hello(hello), now: t))
        if let p = machine.pending[hello.deviceID], p.hello == hello, p.receivedAt == t {
            do {
                try registry.savePending(deviceID: hello.deviceID, hello: payload, receivedAt: p.receivedAt, expiresAt: p.expiresAt)
                persisted.insert(hello.deviceID)
            } catch {
                warnOnce("store:pending", "cannot remember pending panels across a restart: \(error)")
            }
        }
    }

    /// Panels that said hello before a restart are still waiting, with the same codes.
    private func restorePending() {
        let rows: [(hello: [UInt8], receivedAt: Double, expiresAt: Double)]
        do { rows = try registry.pendingHellos() } catch {
            logger.error("cannot read pending pairings: \(error); waiting panels must say hello again")
            return
        }
        for row in rows {
            guard let h = try? PairingHello.decode(row.hello), registry.device(h.deviceID)?.hasAccount != true else { continue }
            machine.restore(h, receivedAt: row.receivedAt, expiresAt: row.expiresAt, now: now)
            persisted.insert(h.deviceID)
        }
        forgetGonePending()
    }

    /// Deletes stored hellos the machine no longer holds (paired, or expired past the grace period).
    func forgetGonePending() {
        for id in persisted where machine.pending[id] == nil {
            do {
                try registry.removePending(id)
                persisted.remove(id)
            } catch {
                warnOnce("store:pending-remove", "cannot forget a pending pairing: \(error)")
            }
        }
    }

    // MARK: - Approval

    /// The installer typed `code`. With `confirm` false only looks the code up (wrong codes still
    /// count); otherwise starts creating the account and returns the panel being paired. Watch
    /// `outcomes[id]` for the result.
    public func approve(code: String, resource: String, name: String?, confirm: Bool = true,
                        replacing: String? = nil) -> Result<PendingPairing, PairingError> {
        guard isEnabled else {
            return .failure(PairingError(.notConfigured, "pair",
                                         "pairing needs the broker's dynsec admin account: set [broker] admin_username and admin_password_file (see `fleet-controller broker init`)"))
        }
        guard !resource.isEmpty, resource.utf8.count <= 128 else {
            return .failure(PairingError(.invalidArgument, "pair", "resource must be 1-128 characters", field: "resource"))
        }
        if !confirm {
            let effects = machine.handle(.enter(code: code, resource: resource, name: name), now: now)
            // A lookup must not start anything: put a found panel back to waiting.
            for case .createAccount(let h, _, _) in effects {
                _ = machine.handle(.accountFailed(deviceID: h.deviceID, reason: "preview"), now: now)
                if let p = machine.pending[h.deviceID] { return .success(p) }
            }
            return .failure(refusal(effects))
        }
        let effects = machine.handle(.enter(code: code, resource: resource, name: name), now: now)
        for case .createAccount(let h, _, _) in effects {
            slots[h.deviceID] = Slot(resource: resource, name: name, replacing: replacing)
            let p = machine.pending[h.deviceID]!
            apply(effects)
            return .success(p)
        }
        return .failure(refusal(effects))
    }

    private func refusal(_ effects: [PairingEffect]) -> PairingError {
        for case .refused(let e) in effects {
            if e.code == .wrongCode || e.code == .coolingDown { counters.wrongCodes += 1 }
            return e
        }
        return PairingError(.conflict, "pair", "nothing to pair")
    }

    /// Carries out what the machine decided.
    func apply(_ effects: [PairingEffect]) {
        for e in effects {
            switch e {
            case .listed(let id, let replaced):
                logger.info("\(id) waits for pairing\(replaced ? " (new code)" : "")")
            case .ignored(let id, let reason):
                counters.hellosRejected += 1
                warnOnce("ignored:\(id):\(reason)", "hello from \(id) ignored: \(reason)")
            case .createAccount(let h, _, _):
                createAccount(h)
            case .paired(let p):
                record(p)
            case .failed(let id, let reason):
                counters.failed += 1
                outcomes[id] = .failed(reason)
                slots[id] = nil
                logger.warning("pairing \(id) failed: \(reason)")
            case .expired(let id):
                logger.info("pairing code of \(id) expired")
            case .refused:
                break
            }
        }
    }

    private func createAccount(_ h: PairingHello) {
        outcomes[h.deviceID] = .approving
        let text = slots[h.deviceID].map { "\($0.resource)\($0.name.map { " — \($0)" } ?? "")" } ?? h.deviceID
        let commands = DynsecCommands.createDevice(id: h.deviceID, password: h.password, prefix: prefix, text: text)
        dynsec!.send(commands, operation: "pair \(h.deviceID)") { [unowned self] result in
            switch result {
            case .success(let answers):
                if let bad = answers.dropFirst(2).first(where: { $0.error != nil }) {
                    self.apply(self.machine.handle(.accountFailed(deviceID: h.deviceID,
                                                                  reason: "broker refused \(bad.command): \(bad.error!)"), now: self.now))
                } else {
                    if self.crashAfterAccountCreated { _exit(70) }
                    self.apply(self.machine.handle(.accountCreated(deviceID: h.deviceID), now: self.now))
                }
            case .failure(let e):
                self.apply(self.machine.handle(.accountFailed(deviceID: h.deviceID, reason: e.message), now: self.now))
            }
        }
    }

    /// The account exists: write the device (taking over the replaced one's slot in the same
    /// transaction), publish its config, and revoke the replaced panel.
    private func record(_ p: PendingPairing) {
        let h = p.hello
        let slot = slots.removeValue(forKey: h.deviceID)
        let old = slot?.replacing.flatMap { registry.device($0) }
        let preset = registry.device(h.deviceID)
        var d = DeviceRecord(id: h.deviceID, kind: h.kind, resource: slot?.resource ?? old?.resource ?? "",
                             name: slot?.name ?? old?.name ?? preset?.name,
                             minimumRole: old?.minimumRole ?? preset?.minimumRole, actions: old?.actions ?? preset?.actions,
                             origin: "paired", createdAt: now, model: h.model, firmware: h.firmware,
                             fingerprint: h.fingerprint, pairedAt: now)
        d.lastSeen = nil
        do {
            try registry.save([d], removing: old.map { [$0.id] } ?? [])
        } catch {
            // The account exists without a device: take it back so the panel does not half work.
            logger.error("cannot record paired device \(h.deviceID): \(error); revoking its broker account")
            dynsec?.send(DynsecCommands.deleteDevice(id: h.deviceID), operation: "revoke \(h.deviceID)") { _ in }
            outcomes[h.deviceID] = .failed("cannot write devices.sqlite: \(error)")
            return
        }
        counters.paired += 1
        accountMissing.remove(h.deviceID)
        forgetGonePending()
        // Outcomes are for the installer waiting right now; keep the map from growing with the fleet.
        if outcomes.count > 1000 { outcomes = outcomes.filter { if case .approving = $0.value { true } else { false } } }
        outcomes[h.deviceID] = .paired(at: now)
        publishConfig(d)
        logger.info("paired \(h.deviceID) (\(h.kind) \(h.model)) into \(d.resource)")
        if let old {
            revoke(old.id, operation: "replace \(old.id) by \(h.deviceID)")
            accountMissing.remove(old.id)
        }
    }

    // MARK: - Helpers

    func publishConfig(_ d: DeviceRecord) {
        let base = "\(prefix)/dev/\(d.id)"
        let config: JSON = [
            "device_id": JSON(d.id), "kind": JSON(d.kind), "resource": JSON(d.resource), "name": JSON(d.name),
            "disabled": .bool(d.disabled), "paired_at": d.pairedAt.map { JSON($0) } ?? .null,
            "topics": ["up": JSON("\(base)/up/"), "down": JSON("\(base)/down/"), "presence": JSON("\(base)/up/presence/state")],
        ]
        mqtt.publish(MQTTMessage(topic: "\(base)/down/config", payload: config.bytes, qos: 1, retain: true))
    }

    /// Removes a device's broker account (kicking it at once) and its retained messages.
    func revoke(_ id: String, operation: String, _ done: ((Result<[DynsecResponse], PairingError>) -> Void)? = nil) {
        clearRetained(id)
        guard let dynsec else { done?(.success([])); return }
        dynsec.send(DynsecCommands.deleteDevice(id: id), operation: operation) { result in done?(result) }
    }

    func clearRetained(_ id: String) {
        for t in ["down/config", "up/presence/state"] {
            mqtt.publish(MQTTMessage(topic: "\(prefix)/dev/\(id)/\(t)", payload: [], qos: 1, retain: true))
        }
    }

    func receivePresence(_ m: MQTTMessage) {
        let levels = Topic.levels(m.topic)
        let base = Topic.levels(prefix).count
        guard levels.count == base + 5 else { return }
        let id = String(levels[base + 1])
        switch m.text {
        case "online": registry.setOnline(id, true)
        case "offline": registry.setOnline(id, false)
        default: registry.setOnline(id, nil)
        }
    }

    func warnOnce(_ key: String, _ text: String) {
        guard warned.count < 1000, warned.insert(key).inserted else { return }
        logger.warning("\(text)")
    }
}

/// A random secret: 24 bytes from the kernel's CSPRNG, base64url without padding (32 characters).
public func randomSecret() -> String {
    var bytes = [UInt8](repeating: 0, count: 24)
    let f = fopen("/dev/urandom", "rb")
    precondition(f != nil && fread(&bytes, 1, bytes.count, f) == bytes.count, "cannot read /dev/urandom")
    fclose(f)
    let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    var out: [UInt8] = []
    for i in stride(from: 0, to: bytes.count, by: 3) {
        let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
        for shift in [18, 12, 6, 0] { out.append(table[Int((v >> UInt32(shift)) & 63)]) }
    }
    return String(decoding: out, as: UTF8.self)
}

@available(*, unavailable) extension PairingService: Sendable {}
