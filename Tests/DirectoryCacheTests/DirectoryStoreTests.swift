import FleetTestSupport
@testable import DirectoryCache
import FleetJSON
import Testing

private let now = 1_800_000_000.0

private func p(_ name: String, _ role: Role? = .user, badge: String? = nil, active: Bool = true, display: String? = nil)
    -> Person
{
    Person(externalID: "\(name)@example.com", email: "\(name)@example.com", displayName: display ?? name,
        role: role, badge: badge, active: active)
}

private func snapshot(_ people: [Person]) -> DirectorySnapshot {
    DirectorySnapshot(source: "badges", origin: "people.csv", people: people)
}

/// Plans `people` against what `store` holds and applies it.
@discardableResult
private func sync(_ store: DirectoryStore, _ people: [Person], at time: Double = now) throws -> SyncPlan {
    let plan = SyncPlan.make(current: try store.users(), snapshot: snapshot(people), now: time, force: true)
    try #require(plan.verdict == .ready)
    try store.apply(plan, at: time)
    return plan
}

private let team = [
    p("root", .admin, badge: "B0", display: "Root Admin"), p("ann", badge: "B1", display: "Ann Lee"),
    p("ben", .manager, badge: "B2", display: "Ben Ng"), p("ghost", .hiddenUser, badge: "B3", display: "Annabel Ghost"),
    p("old", badge: "B4", active: false, display: "Anna Old"),
]

@Suite struct DirectoryStoreTests {
    @Test func appliesAPlanAndLooksUsersUp() throws {
        let dir = TemporaryDirectory()
        let store = try DirectoryStore(path: dir.path + "/directory.sqlite")
        #expect(try store.lastSuccessfulSync(source: "badges") == nil)
        try sync(store, team)

        let ann = try #require(try store.user(badge: " b1 "))
        #expect(ann.email == "ann@example.com" && ann.displayName == "Ann Lee" && ann.role == .user && ann.active)
        #expect(try store.user(email: " ANN@example.com") == ann)
        #expect(try store.user(id: ann.id) == ann)
        #expect(try store.user(badge: "nope") == nil)
        #expect(try store.user(badge: "") == nil)
        let ghost = try #require(try store.user(email: "ghost@example.com"))
        #expect(ghost.hidden && ghost.active)
        let old = try #require(try store.user(email: "old@example.com"))
        #expect(!old.active && old.deactivatedAt == now)
        #expect(try store.users().count == 5)
        #expect(try store.lastSuccessfulSync(source: "badges") == now)
        #expect(try store.lastSuccessfulSyncs() == ["badges": now])
    }

    @Test func lookupsUseIndexes() throws {
        let dir = TemporaryDirectory()
        let store = try DirectoryStore(path: dir.path + "/directory.sqlite")
        for column in ["badge", "email", "id"] {
            let plan = try store.db.query("EXPLAIN QUERY PLAN SELECT * FROM users WHERE \(column) = ?", ["x"])
            let detail = plan.compactMap { $0.text(3) }.joined(separator: " ")
            #expect(detail.contains("INDEX") || detail.contains("PRIMARY KEY"), "\(column): \(detail)")
        }
        // Search is a range scan on the NOCASE indexes, not a table scan.
        let search = try store.db.query("""
            EXPLAIN QUERY PLAN SELECT id FROM users WHERE active = 1 AND hidden = 0
              AND (display_name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\')
            """, ["an%"]).compactMap { $0.text(3) }.joined(separator: " ")
        #expect(search.contains("users_display_name") && !search.contains("SCAN users"), "\(search)")
    }

    @Test func survivesReopenWithSaltAndData() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/directory.sqlite"
        let hash: String
        do {
            let store = try DirectoryStore(path: path)
            try sync(store, team)
            hash = store.credentialHash(Credential(type: .badge, value: "B1"))
        }
        let reopened = try DirectoryStore(path: path)
        #expect(try reopened.users().count == 5)
        #expect(reopened.credentialHash(Credential(type: .badge, value: " b1")) == hash)
        #expect(try reopened.db.query("SELECT name FROM _migrations").compactMap { $0.text(0) } == DirectoryStore.migrations.map(\.name))
    }

    @Test func credentialHashIsSaltedPerDatabaseAndTyped() throws {
        let dir = TemporaryDirectory()
        let a = try DirectoryStore(path: dir.path + "/a.sqlite")
        let b = try DirectoryStore(path: dir.path + "/b.sqlite")
        let badge = Credential(type: .badge, value: "0001234")
        #expect(a.credentialHash(badge).count == 64)
        #expect(a.credentialHash(badge) != b.credentialHash(badge))
        #expect(a.credentialHash(badge) != Sha256.hex("0001234"))
        #expect(a.credentialHash(badge) != a.credentialHash(Credential(type: .userID, value: "0001234")))
    }

    @Test func badgeAndEmailSwapsApplyInOneRun() throws {
        let dir = TemporaryDirectory()
        let store = try DirectoryStore(path: dir.path + "/directory.sqlite")
        // External ids stay; emails and badges trade places, as a Graph source can report.
        var x = Person(externalID: "id-x", email: "x@example.com", displayName: "X", role: .admin, badge: "BX", active: true)
        var y = Person(externalID: "id-y", email: "y@example.com", displayName: "Y", role: .user, badge: "BY", active: true)
        try sync(store, [x, y])
        (x.email, y.email) = (y.email, x.email)
        (x.badge, y.badge) = (y.badge, x.badge)
        let plan = try sync(store, [x, y], at: now + 60)
        #expect(plan.badgeChanges.count == 2)
        #expect(try store.user(badge: "BX")?.externalID == "id-y")
        #expect(try store.user(email: "x@example.com")?.externalID == "id-y")
        #expect(try store.user(badge: "BY")?.externalID == "id-x")
    }

    @Test func failedApplyChangesNothing() throws {
        let dir = TemporaryDirectory()
        let store = try DirectoryStore(path: dir.path + "/directory.sqlite")
        try sync(store, team)
        // A plan no planner would make: a new person takes ann's badge while ann keeps it.
        var plan = SyncPlan.make(current: try store.users(), snapshot: snapshot(team + [p("zed", badge: "B9")]),
            now: now + 60)
        plan.changes[0].after.displayName = "Renamed"
        plan.changes.append(SyncPlan.Change(before: nil, after: User(id: "u_clash", externalID: "clash@example.com",
            email: "clash@example.com", displayName: "Clash", role: .user, active: true, hidden: false, badge: "B1",
            source: "badges", updatedAt: now + 60)))
        #expect(throws: DirectoryError.self) { try store.apply(plan, at: now + 60) }
        do {
            try store.apply(plan, at: now + 60)
        } catch {
            #expect(error.code == .store && error.operation == "apply" && error.resultCode != nil)
        }
        #expect(try store.users().count == 5)
        #expect(try store.user(email: "zed@example.com") == nil)
        #expect(try store.lastSuccessfulSync(source: "badges") == now)
    }

    @Test func searchFindsActiveVisiblePeopleByPrefix() throws {
        let dir = TemporaryDirectory()
        let store = try DirectoryStore(path: dir.path + "/directory.sqlite")
        try sync(store, team + [p("a_b", display: "Under_score"), p("pct", display: "100% Sure")])
        // "ann" matches Ann Lee (name) but not the hidden Annabel or the inactive Anna.
        #expect(try store.search(prefix: "an").map(\.email) == ["ann@example.com"])
        #expect(try store.search(prefix: "ROOT").map(\.email) == ["root@example.com"])
        #expect(try store.search(prefix: "ben@").map(\.email) == ["ben@example.com"])
        #expect(try store.search(prefix: "Lee").isEmpty)
        // LIKE wildcards in the prefix are literal.
        #expect(try store.search(prefix: "a_").map(\.email) == ["a_b@example.com"])
        #expect(try store.search(prefix: "%").isEmpty)
        #expect(try store.search(prefix: "100%").map(\.email) == ["pct@example.com"])
        #expect(try store.search(prefix: "", limit: 2).count == 2)
        #expect(try store.search(prefix: "", limit: 0).count == 1)
        #expect(try store.search(prefix: "", limit: 10_000).count == 5)
    }

    @Test func runsAreRecordedUpdatedAndListedNewestFirst() throws {
        let dir = TemporaryDirectory()
        let store = try DirectoryStore(path: dir.path + "/directory.sqlite")
        var first = SyncRun(source: "badges", status: .running, startedAt: now)
        first.id = try store.recordRun(first)
        first.status = .succeeded
        first.finishedAt = now + 1
        first.counts = ["adds": 3]
        try store.recordRun(first)
        let second = SyncRun(source: "badges", status: .failed, reason: "people.csv:4: column role: unknown role",
            startedAt: now + 60, finishedAt: now + 61)
        let secondID = try store.recordRun(second)

        let runs = try store.runs(limit: 10)
        #expect(runs.map(\.id) == [secondID, first.id])
        #expect(runs.last == first)
        #expect(runs.first?.reason == second.reason && runs.first?.counts == [:])
        #expect(try store.runs(limit: 1).count == 1)
        #expect(try store.runs(source: "m365").isEmpty)
        #expect(runs.last?.json()["counts"]?["adds"]?.int == 3)
        #expect(runs.first?.json()["status"]?.string == "failed")
    }

    @Test func auditAndOverridesRoundTrip() throws {
        let dir = TemporaryDirectory()
        let store = try DirectoryStore(path: dir.path + "/directory.sqlite")
        try sync(store, team)
        let ann = try #require(try store.user(email: "ann@example.com"))
        let entry = AuditEntry(ts: now, deviceID: "door-lobby", credentialType: .badge, credentialHash: "abc",
            userID: ann.id, decision: .allow, reason: .ok)
        try store.appendAudit(entry)
        try store.appendAudit(AuditEntry(ts: now + 1, deviceID: nil, credentialType: .email, credentialHash: "def",
            userID: nil, decision: .deny, reason: .unknownCredential))
        let audit = try store.audit(limit: 10)
        #expect(audit.map(\.credentialHash) == ["def", "abc"])
        #expect(audit.last?.userID == ann.id && audit.last?.deviceID == "door-lobby" && audit.last?.reason == .ok)

        try store.addOverride(Override(userID: ann.id, kind: .block, until: now + 60, createdAt: now, note: "lost badge"))
        try store.addOverride(Override(userID: ann.id, kind: .allow, until: nil, createdAt: now))
        let overrides = try store.overrides(userID: ann.id)
        #expect(overrides.map(\.kind) == [.block, .allow])
        #expect(overrides.first?.note == "lost badge" && overrides.first?.until == now + 60)
        #expect(try store.removeOverrides(userID: ann.id, kind: .block) == 1)
        #expect(try store.overrides(userID: ann.id).map(\.kind) == [.allow])
        // Overrides need a known user.
        #expect(throws: DirectoryError.self) {
            try store.addOverride(Override(userID: "u_nobody", kind: .block, until: nil, createdAt: now))
        }
    }

    @Test func openingAFileThatIsNotADatabaseFails() throws {
        let dir = TemporaryDirectory()
        try dir.write("directory.sqlite", String(repeating: "not a database ", count: 100))
        #expect(throws: DirectoryError.self) { try DirectoryStore(path: dir.path + "/directory.sqlite") }
    }
}
