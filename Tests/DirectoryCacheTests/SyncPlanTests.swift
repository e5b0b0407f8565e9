@testable import DirectoryCache
import Testing

private let now = 1_800_000_000.0
private let yesterday = now - 86_400

/// `name@example.com`, keyed by email as CSV keys it.
private func p(_ name: String, _ role: Role? = .user, badge: String? = nil, active: Bool = true) -> Person {
    Person(externalID: "\(name)@example.com", email: "\(name)@example.com", displayName: name.capitalized,
        role: role, badge: badge, active: active)
}

/// The cached row a previous sync of `person` from `source` left behind.
private func cached(_ person: Person, source: String = "badges") -> User {
    let active = person.active && person.role != nil
    return User(id: User.stableID(source: source, externalID: person.externalID), externalID: person.externalID,
        email: person.email, displayName: person.displayName, role: person.role, active: active,
        hidden: person.role == .hiddenUser, badge: person.badge, source: source, updatedAt: yesterday,
        deactivatedAt: active ? nil : yesterday)
}

private func snapshot(_ people: [Person], complete: Bool = true) -> DirectorySnapshot {
    DirectorySnapshot(source: "badges", origin: "people.csv", people: people, isComplete: complete,
        adminRemedy: "at least one row needs role admin")
}

private extension String {
    var capitalized: String { prefix(1).uppercased() + dropFirst() }
}

/// Five active people with one admin: the usual "before" cache.
private let team = [p("root", .admin, badge: "B0"), p("ann", badge: "B1"), p("ben", badge: "B2"), p("cat", badge: "B3"), p("dan", badge: "B4")]

@Suite struct SyncPlanTests {
    enum Outcome: Equatable { case ready, held, failed }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var current: [User]
        var people: [Person]
        var complete = true
        var force = false
        var outcome: Outcome
        var reason: [String] = []
        /// adds, deactivations, reactivations, role changes, badge changes
        var counts: [Int] = [0, 0, 0, 0, 0]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "first sync adds everyone", current: [], people: team, outcome: .ready, counts: [5, 0, 0, 0, 0]),
        Case(name: "unchanged snapshot changes nothing", current: team.map { cached($0) }, people: team,
            outcome: .ready, counts: [0, 0, 0, 0, 0]),
        Case(name: "incomplete read fails", current: team.map { cached($0) }, people: team, complete: false,
            outcome: .failed, reason: ["people.csv", "not read completely"]),
        Case(name: "empty answer never wipes the cache", current: team.map { cached($0) }, people: [],
            outcome: .failed, reason: ["lists nobody", "never wipes"]),
        Case(name: "no admin at all", current: [], people: [p("ann"), p("ben", .manager)],
            outcome: .failed, reason: ["no active Admin in people.csv: at least one row needs role admin"]),
        Case(name: "only admin is inactive", current: [], people: [p("root", .admin, active: false), p("ann")],
            outcome: .failed, reason: ["no active Admin in people.csv"]),
        Case(name: "role change", current: team.map { cached($0) },
            people: [team[0], p("ann", .manager, badge: "B1")] + team[2...], outcome: .ready, counts: [0, 0, 0, 1, 0]),
        Case(name: "badge change", current: team.map { cached($0) },
            people: [team[0], p("ann", badge: "B9")] + team[2...], outcome: .ready, counts: [0, 0, 0, 0, 1]),
        Case(name: "badge swap between two people", current: team.map { cached($0) },
            people: [team[0], p("ann", badge: "B2"), p("ben", badge: "B1")] + team[3...], outcome: .ready,
            counts: [0, 0, 0, 0, 2]),
        Case(name: "disabled upstream: 1 of 5 is exactly 20 %, applies", current: team.map { cached($0) },
            people: Array(team[0...3]) + [p("dan", badge: "B4", active: false)], outcome: .ready, counts: [0, 1, 0, 0, 0]),
        Case(name: "no role group: becomes inactive", current: team.map { cached($0) },
            people: Array(team[0...3]) + [p("dan", nil, badge: "B4")], outcome: .ready, counts: [0, 1, 0, 0, 0]),
        Case(name: "missing from the source: becomes inactive", current: team.map { cached($0) },
            people: Array(team[0...3]), outcome: .ready, counts: [0, 1, 0, 0, 0]),
        Case(name: "2 of 5 deactivated is held", current: team.map { cached($0) }, people: Array(team[0...2]),
            outcome: .held, reason: ["2 of 5 active users (40 %)", "20 % limit", "--force"], counts: [0, 2, 0, 0, 0]),
        Case(name: "held run applies with force", current: team.map { cached($0) }, people: Array(team[0...2]),
            force: true, outcome: .ready, counts: [0, 2, 0, 0, 0]),
        Case(name: "reactivation", current: team.map { cached($0) } + [cached(p("eve", active: false))],
            people: team + [p("eve")], outcome: .ready, counts: [0, 0, 1, 0, 0]),
        Case(name: "new inactive person is added, inactive", current: [], people: [team[0], p("eve", active: false)],
            outcome: .ready, counts: [2, 0, 0, 0, 0]),
        Case(name: "email already from another source", current: [cached(p("ann"), source: "m365")],
            people: team, outcome: .failed, reason: ["ann@example.com", "source m365"]),
        Case(name: "badge already held in another source", current: [cached(p("zed", badge: "B3"), source: "m365")],
            people: team, outcome: .failed, reason: ["badge B3", "zed@example.com", "m365"]),
        Case(name: "snapshot lists an email twice", current: [], people: [team[0], p("ann"), p("ann", .manager)],
            outcome: .failed, reason: ["ann@example.com twice"]),
        Case(name: "snapshot gives one badge to two people", current: [],
            people: [team[0], p("ann", badge: "X"), p("ben", badge: "X")], outcome: .failed, reason: ["badge X", "two people"]),
        Case(name: "other sources are never deactivated",
            current: team.map { cached($0) } + [cached(p("zed"), source: "m365")], people: team, outcome: .ready,
            counts: [0, 0, 0, 0, 0]),
    ]

    @Test(arguments: cases)
    func plans(_ example: Case) {
        let plan = SyncPlan.make(current: example.current, snapshot: snapshot(example.people, complete: example.complete),
            rules: SyncRules(), now: now, force: example.force)
        let outcome: Outcome = switch plan.verdict {
        case .ready: .ready
        case .held: .held
        case .failed: .failed
        }
        #expect(outcome == example.outcome, "\(plan.verdict)")
        for phrase in example.reason {
            #expect(plan.verdict.reason?.contains(phrase) == true, "reason \(plan.verdict.reason ?? "nil") lacks \(phrase)")
        }
        if example.outcome != .failed {
            let counts = [plan.adds.count, plan.deactivations.count, plan.reactivations.count, plan.roleChanges.count,
                plan.badgeChanges.count]
            #expect(counts == example.counts)
        } else {
            #expect(plan.changes.isEmpty)
        }
    }

    @Test func deactivationKeepsRowAndStampsTime() throws {
        let plan = SyncPlan.make(current: team.map { cached($0) }, snapshot: snapshot(Array(team[0...3])), now: now)
        let change = try #require(plan.deactivations.first)
        #expect(change.after.email == "dan@example.com")
        #expect(!change.after.active)
        #expect(change.after.deactivatedAt == now)
        #expect(change.after.role == .user)
        #expect(change.after.id == change.before?.id)
        #expect(plan.counts["deactivations"]?.int == 1)
        #expect(plan.counts["seen"]?.int == 4)
    }

    @Test func reactivationClearsDeactivatedAt() throws {
        let plan = SyncPlan.make(current: [cached(team[0]), cached(p("eve", active: false))],
            snapshot: snapshot([team[0], p("eve", .manager)]), now: now)
        let change = try #require(plan.reactivations.first)
        #expect(change.after.active && change.after.deactivatedAt == nil && change.after.updatedAt == now)
        #expect(plan.roleChanges.count == 1)
    }

    @Test func badgeGivenToNewPersonIsTakenOffTheRemovedHolder() throws {
        // 10 people so one removal stays under the 20 % hold.
        let many = team + (0..<5).map { p("p\($0)") }
        let before = many.map { cached($0) }
        let people = [many[0], p("neo", badge: "B1")] + many[2...]
        let plan = SyncPlan.make(current: before, snapshot: snapshot(people), now: now)
        #expect(plan.verdict == .ready)
        let ann = try #require(plan.changes.first { $0.after.email == "ann@example.com" })
        #expect(ann.after.badge == nil && !ann.after.active)
        #expect(plan.adds.map(\.badge) == ["B1"])
    }

    @Test func hiddenUserIsHiddenAndStableIDsDependOnSourceAndKey() {
        let plan = SyncPlan.make(current: [], snapshot: snapshot([team[0], p("ghost", .hiddenUser)]), now: now)
        let ghost = plan.adds.first { $0.email == "ghost@example.com" }
        #expect(ghost?.hidden == true && ghost?.active == true)
        #expect(ghost?.id == User.stableID(source: "badges", externalID: "ghost@example.com"))
        #expect(User.stableID(source: "badges", externalID: "x") != User.stableID(source: "m365", externalID: "x"))
        #expect(User.stableID(source: "badges", externalID: "x").count == 26)
    }

    @Test func recreatedUpstreamAccountKeepsItsRowByEmail() throws {
        // A network source re-created ann with a new object id: same person, same row.
        var ann = p("ann")
        let old = cached(ann)
        ann.externalID = "new-object-id"
        let plan = SyncPlan.make(current: [cached(team[0]), old], snapshot: snapshot([team[0], ann]), now: now)
        let change = try #require(plan.changes.first)
        #expect(plan.changes.count == 1 && plan.adds.isEmpty)
        #expect(change.after.id == old.id && change.after.externalID == "new-object-id")
    }

    @Test func shareIsConfigurable() {
        let strict = SyncPlan.make(current: team.map { cached($0) }, snapshot: snapshot(Array(team[0...3])),
            rules: SyncRules(maxDeactivationShare: 0.1), now: now)
        #expect(strict.verdict.reason?.contains("10 % limit") == true)
        // 29 of 100 at a 29 % limit is not "more than" even though 0.29 × 100 < 29 in binary.
        let hundred = [p("root", .admin)] + (1..<100).map { p("p\($0)") }
        let atLimit = SyncPlan.make(current: hundred.map { cached($0) }, snapshot: snapshot(Array(hundred[..<71])),
            rules: SyncRules(maxDeactivationShare: 0.29), now: now)
        #expect(atLimit.verdict == .ready && atLimit.deactivations.count == 29)
    }
}
