/// Limits of the pairing flow (RFC 8628 §5.1: few attempts, short validity).
public struct PairingPolicy: Sendable, Equatable {
    /// How long a code stays valid after its hello.
    public var codeTTL: Double = 600
    /// Wrong code entries allowed within `failureWindow` before a cool-down.
    public var maxFailures = 5
    public var failureWindow: Double = 600
    public var cooldown: Double = 600
    /// Expired codes are remembered this long so an installer typing one is told it expired.
    public var expiredGrace: Double = 1800
    /// Pending panels at most; more hellos are refused until some pair or expire.
    public var maxPending = 256
    public init() {}
}

/// A panel that said hello and waits for an installer.
public struct PendingPairing: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case waiting
        /// The installer entered the code; the broker account is being created.
        case approving(resource: String, name: String?)
        case expired
    }

    public var hello: PairingHello
    public var receivedAt: Double
    public var expiresAt: Double
    public var state: State
}

public enum PairingEvent: Sendable, Equatable {
    case hello(PairingHello)
    case enter(code: String, resource: String, name: String?)
    case accountCreated(deviceID: String)
    case accountFailed(deviceID: String, reason: String)
    case tick
}

public enum PairingEffect: Sendable, Equatable {
    /// A new pending panel, or a new hello (new code) replacing the old one.
    case listed(deviceID: String, replaced: Bool)
    case ignored(deviceID: String, reason: String)
    /// Create the panel's role and client on the broker (one dynsec message).
    case createAccount(PairingHello, resource: String, name: String?)
    case refused(PairingError)
    /// The account exists: record the device and publish its config.
    case paired(PendingPairing)
    case failed(deviceID: String, reason: String)
    case expired(deviceID: String)
}

/// The pairing flow as a pure state machine: pending panels by id, and the limiter on wrong codes.
/// Time comes in with every event; effects go out for the service to carry out.
public struct PairingMachine: Sendable {
    public let policy: PairingPolicy
    public private(set) var pending: [String: PendingPairing] = [:]
    /// Times of wrong entries within the window.
    public private(set) var failures: [Double] = []
    public private(set) var cooldownUntil: Double?

    public init(policy: PairingPolicy = PairingPolicy()) { self.policy = policy }

    public mutating func handle(_ event: PairingEvent, now: Double) -> [PairingEffect] {
        switch event {
        case .hello(let h): return hello(h, now: now)
        case .enter(let code, let resource, let name): return enter(code, resource: resource, name: name, now: now)
        case .accountCreated(let id):
            guard let p = pending[id], case .approving = p.state else { return [] }
            pending[id] = nil
            return [.paired(p)]
        case .accountFailed(let id, let reason):
            guard var p = pending[id], case .approving = p.state else { return [] }
            p.state = now < p.expiresAt ? .waiting : .expired
            pending[id] = p
            return [.failed(deviceID: id, reason: reason)]
        case .tick: return tick(now: now)
        }
    }

    private mutating func hello(_ h: PairingHello, now: Double) -> [PairingEffect] {
        let old = pending[h.deviceID]
        if let old, case .approving = old.state {
            return [.ignored(deviceID: h.deviceID, reason: "pairing in progress")]
        }
        if pending.values.contains(where: { $0.hello.deviceID != h.deviceID && $0.hello.code == h.code && $0.state != .expired }) {
            return [.ignored(deviceID: h.deviceID, reason: "code already shown by another panel; show a new one")]
        }
        if old == nil && pending.count >= policy.maxPending {
            return [.ignored(deviceID: h.deviceID, reason: "\(policy.maxPending) panels already waiting")]
        }
        pending[h.deviceID] = PendingPairing(hello: h, receivedAt: now, expiresAt: now + policy.codeTTL, state: .waiting)
        return [.listed(deviceID: h.deviceID, replaced: old != nil)]
    }

    private mutating func enter(_ typed: String, resource: String, name: String?, now: Double) -> [PairingEffect] {
        let op = "pair"
        pruneFailures(now: now)
        if let until = cooldownUntil {
            var e = PairingError(.coolingDown, op, "too many wrong codes; try again in \(Int((until - now).rounded(.up))) s")
            e.retryAfter = until - now
            return [.refused(e)]
        }
        let code = PairingCode.normalize(typed)
        guard PairingCode.isValid(code) else {
            return [.refused(PairingError(.malformedCode, op, "a code is 8 letters of BCDFGHJKLMNPQRSTVWXZ, e.g. WDJB-MJHT",
                                          field: "code"))]
        }
        guard var p = pending.values.first(where: { $0.hello.code == code }) else {
            failures.append(now)
            var e: PairingError
            if failures.count >= policy.maxFailures {
                cooldownUntil = now + policy.cooldown
                e = PairingError(.coolingDown, op,
                                 "no panel shows \(PairingCode.display(code)); \(policy.maxFailures) wrong codes, wait \(Int(policy.cooldown)) s")
                e.retryAfter = policy.cooldown
            } else {
                e = PairingError(.wrongCode, op, "no panel shows \(PairingCode.display(code)); check the code on the screen")
                e.attemptsLeft = policy.maxFailures - failures.count
            }
            return [.refused(e)]
        }
        switch p.state {
        case .approving:
            return [.refused(PairingError(.inProgress, op, "\(p.hello.deviceID) is being paired"))]
        case .expired:
            return [.refused(PairingError(.expiredCode, op,
                                          "\(PairingCode.display(code)) expired; the panel shows a new code, type that one"))]
        case .waiting where now >= p.expiresAt:
            p.state = .expired
            pending[p.hello.deviceID] = p
            return [.refused(PairingError(.expiredCode, op,
                                          "\(PairingCode.display(code)) expired; the panel shows a new code, type that one"))]
        case .waiting:
            p.state = .approving(resource: resource, name: name)
            pending[p.hello.deviceID] = p
            return [.createAccount(p.hello, resource: resource, name: name)]
        }
    }

    private mutating func tick(now: Double) -> [PairingEffect] {
        pruneFailures(now: now)
        var effects: [PairingEffect] = []
        for (id, var p) in pending.sorted(by: { $0.key < $1.key }) {
            if p.state == .waiting && now >= p.expiresAt {
                p.state = .expired
                pending[id] = p
                effects.append(.expired(deviceID: id))
            } else if p.state == .expired && now >= p.expiresAt + policy.expiredGrace {
                pending[id] = nil
            }
        }
        return effects
    }

    private mutating func pruneFailures(now: Double) {
        if let until = cooldownUntil, now >= until {
            cooldownUntil = nil
            failures.removeAll()
        }
        failures.removeAll { $0 <= now - policy.failureWindow }
    }

    /// Wrong entries still allowed now (0 while cooling down).
    public func attemptsLeft(now: Double) -> Int {
        if let until = cooldownUntil, now < until { return 0 }
        return max(0, policy.maxFailures - failures.filter { $0 > now - policy.failureWindow }.count)
    }

    /// Puts back a panel remembered across a restart. One that was being approved waits again: the
    /// account may or may not exist, and reconciliation removes it if it does.
    public mutating func restore(_ hello: PairingHello, receivedAt: Double, expiresAt: Double, now: Double) {
        pending[hello.deviceID] = PendingPairing(hello: hello, receivedAt: receivedAt, expiresAt: expiresAt,
                                                 state: now < expiresAt ? .waiting : .expired)
    }

    /// Forgets a pending panel (it was paired another way, or replaced).
    public mutating func remove(_ deviceID: String) { pending[deviceID] = nil }
}
