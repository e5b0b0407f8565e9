import DevicePairing
import Testing

private func hello(_ id: String = "panel-1", code: String = "WDJBMJHT") -> PairingHello {
    PairingHello(deviceID: id, kind: "room_display", model: "RD-10", firmware: "1.2.3", password: "p4ssw0rd-p4ssw0rd",
                 code: code, fingerprint: "7F3C-9A")
}

/// One row of the transition table: a machine prepared by `setup`, one event at `at`, the effects
/// expected and the state of `panel-1` afterwards.
struct Transition: CustomTestStringConvertible, Sendable {
    var name: String
    var setup: [(PairingEvent, Double)]
    var event: PairingEvent
    var at: Double
    var effects: [String]
    var state: String?
    var testDescription: String { name }
}

private func summary(_ e: PairingEffect) -> String {
    switch e {
    case .listed(let id, let replaced): return "listed \(id)\(replaced ? " replaced" : "")"
    case .ignored(let id, _): return "ignored \(id)"
    case .createAccount(let h, let r, _): return "create \(h.deviceID) in \(r)"
    case .refused(let err): return "refused \(err.code.rawValue)"
    case .paired(let p): return "paired \(p.hello.deviceID)"
    case .failed(let id, _): return "failed \(id)"
    case .expired(let id): return "expired \(id)"
    }
}

private func stateName(_ p: PendingPairing?) -> String? {
    guard let p else { return nil }
    switch p.state {
    case .waiting: return "waiting"
    case .approving: return "approving"
    case .expired: return "expired"
    }
}

private let wrong = PairingEvent.enter(code: "BBBB-BBBB", resource: "hq/1", name: nil)
private let right = PairingEvent.enter(code: "wdjb-mjht", resource: "hq/1", name: "Room 1")

let transitions: [Transition] = [
    Transition(name: "hello lists a new panel", setup: [], event: .hello(hello()), at: 0,
               effects: ["listed panel-1"], state: "waiting"),
    Transition(name: "a new hello replaces the code", setup: [(.hello(hello()), 0)],
               event: .hello(hello(code: "ZZZZXXXX")), at: 5, effects: ["listed panel-1 replaced"], state: "waiting"),
    Transition(name: "right code, typed loosely, starts the account", setup: [(.hello(hello()), 0)], event: right, at: 10,
               effects: ["create panel-1 in hq/1"], state: "approving"),
    Transition(name: "wrong code is refused and counted", setup: [(.hello(hello()), 0)], event: wrong, at: 10,
               effects: ["refused wrong_code"], state: "waiting"),
    Transition(name: "malformed code is refused, not counted", setup: [], event: .enter(code: "12", resource: "r", name: nil),
               at: 0, effects: ["refused malformed_code"], state: nil),
    Transition(name: "fifth wrong code starts the cool-down", setup: Array(repeating: (wrong, 1), count: 4), event: wrong,
               at: 2, effects: ["refused cooling_down"], state: nil),
    Transition(name: "even the right code waits out the cool-down",
               setup: [(.hello(hello()), 0)] + Array(repeating: (wrong, 1), count: 5), event: right, at: 3,
               effects: ["refused cooling_down"], state: "waiting"),
    Transition(name: "still cooling down a second before the end",
               setup: [(.hello(hello()), 0)] + Array(repeating: (wrong, 1), count: 5), event: right, at: 599,
               effects: ["refused cooling_down"], state: "waiting"),
    Transition(name: "after the cool-down the right code works",
               setup: Array(repeating: (wrong, 1), count: 5) + [(.hello(hello()), 550)], event: right, at: 602,
               effects: ["create panel-1 in hq/1"], state: "approving"),
    Transition(name: "failures older than the window are forgotten",
               setup: [(.hello(hello()), 0)] + Array(repeating: (wrong, 1), count: 4), event: wrong, at: 602,
               effects: ["refused wrong_code"], state: "waiting"),
    Transition(name: "the right code after expiry says expired", setup: [(.hello(hello()), 0)], event: right, at: 600,
               effects: ["refused expired_code"], state: "expired"),
    Transition(name: "tick expires an old code", setup: [(.hello(hello()), 0)], event: .tick, at: 601,
               effects: ["expired panel-1"], state: "expired"),
    Transition(name: "expired codes are forgotten after the grace period", setup: [(.hello(hello()), 0), (.tick, 601)],
               event: .tick, at: 2401, effects: [], state: nil),
    Transition(name: "hello during approval is ignored", setup: [(.hello(hello()), 0), (right, 1)],
               event: .hello(hello(code: "ZZZZXXXX")), at: 2, effects: ["ignored panel-1"], state: "approving"),
    Transition(name: "code entered twice: in progress", setup: [(.hello(hello()), 0), (right, 1)], event: right, at: 2,
               effects: ["refused in_progress"], state: "approving"),
    Transition(name: "account created: paired and gone from pending", setup: [(.hello(hello()), 0), (right, 1)],
               event: .accountCreated(deviceID: "panel-1"), at: 2, effects: ["paired panel-1"], state: nil),
    Transition(name: "account failed: waiting again for a retry", setup: [(.hello(hello()), 0), (right, 1)],
               event: .accountFailed(deviceID: "panel-1", reason: "broker down"), at: 2, effects: ["failed panel-1"],
               state: "waiting"),
    Transition(name: "account created for nobody approving is ignored", setup: [(.hello(hello()), 0)],
               event: .accountCreated(deviceID: "panel-1"), at: 2, effects: [], state: "waiting"),
    Transition(name: "another panel showing the same code is ignored", setup: [(.hello(hello()), 0)],
               event: .hello(hello("panel-2")), at: 1, effects: ["ignored panel-2"], state: "waiting"),
    Transition(name: "an expired panel says hello again with a new code", setup: [(.hello(hello()), 0), (.tick, 601)],
               event: .hello(hello(code: "ZZZZXXXX")), at: 700, effects: ["listed panel-1 replaced"], state: "waiting"),
]

@Suite struct PairingMachineTests {
    @Test(arguments: transitions)
    func transition(_ t: Transition) {
        var m = PairingMachine()
        for (e, at) in t.setup { _ = m.handle(e, now: at) }
        let effects = m.handle(t.event, now: t.at).map(summary)
        #expect(effects == t.effects)
        #expect(stateName(m.pending["panel-1"]) == t.state)
    }

    @Test func attemptsLeftCountsDownAndCoolDownEnds() {
        var m = PairingMachine()
        #expect(m.attemptsLeft(now: 0) == 5)
        for i in 1...4 {
            guard case .refused(let e) = m.handle(wrong, now: Double(i)).first else { Issue.record("not refused"); return }
            #expect(e.attemptsLeft == 5 - i)
        }
        guard case .refused(let e) = m.handle(wrong, now: 5).first else { Issue.record("not refused"); return }
        #expect(e.code == .coolingDown)
        #expect(e.retryAfter == 600)
        #expect(m.attemptsLeft(now: 6) == 0)
        #expect(m.attemptsLeft(now: 605) == 5)
        _ = m.handle(.hello(hello()), now: 606)
        #expect(m.handle(right, now: 606).map(summary) == ["create panel-1 in hq/1"])
    }
}

@Suite struct PairingCodeTests {
    @Test(arguments: [("wdjb-mjht", "WDJBMJHT"), (" WDJB MJHT ", "WDJBMJHT"), ("WDJB-MJHTA", "WDJBMJHT"), ("", "")])
    func normalize(_ input: String, _ expected: String) { #expect(PairingCode.normalize(input) == expected) }

    @Test(arguments: [("WDJBMJHT", true), ("WDJBMJH", false), ("WDJBMJHTT", false), ("WDJBMJHA", false), ("wdjbmjht", false)])
    func valid(_ code: String, _ ok: Bool) { #expect(PairingCode.isValid(code) == ok) }

    @Test func generatedCodesUseTheWholeAlphabetEvenly() {
        var seed: UInt64 = 42
        var counts: [Character: Int] = [:]
        for _ in 0..<2000 {
            let code = PairingCode.generate { buf in
                for i in buf.indices {
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    buf[i] = UInt8(truncatingIfNeeded: seed >> 56)
                }
            }
            #expect(PairingCode.isValid(code))
            for c in code { counts[c, default: 0] += 1 }
        }
        #expect(counts.count == 20)
        #expect(counts.values.allSatisfy { $0 > 600 && $0 < 1000 })  // 800 expected each
        #expect(PairingCode.display("WDJBMJHT") == "WDJB-MJHT")
    }
}

@Suite struct TokenBucketTests {
    /// (times of events, expected outcomes) for a bucket of 2, refilled at 1 per second.
    @Test(arguments: [
        ([0.0, 0, 0], [true, true, false]),
        ([0.0, 0, 0, 1], [true, true, false, true]),
        ([0.0, 0, 0.5, 1], [true, true, false, true]),
        ([0.0, 0, 10, 10, 10], [true, true, true, true, false]),
        ([5.0, 4, 4], [true, true, false]),  // a clock step back never adds tokens
    ])
    func takes(_ times: [Double], _ expected: [Bool]) {
        var b = TokenBucket(rate: 1, capacity: 2)
        #expect(times.map { b.take(now: $0) } == expected)
    }
}
