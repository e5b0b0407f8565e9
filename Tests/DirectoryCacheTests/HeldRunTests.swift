@testable import DirectoryCache
import FleetJSON
import FleetLoop
import FleetTestSupport
import Logging
import Testing

/// A cache over a `directory.sqlite` that can be "restarted": a new store and cache on the same file.
private final class Restartable {
    let dir = TemporaryDirectory("fc-held")
    let clock = ManualClock(unixTime: 1_800_000_000)
    let log = CapturedLogs()
    private(set) var cache: DirectoryCache

    init() throws {
        cache = try Self.open(dir, clock, log)
    }

    private static func open(_ dir: TemporaryDirectory, _ clock: ManualClock, _ log: CapturedLogs) throws -> DirectoryCache {
        DirectoryCache(store: try DirectoryStore(path: dir.file("directory.sqlite")), clock: clock, logger: log.logger,
                       policy: AuthorizationPolicy())
    }

    func restart() throws {
        cache = try Self.open(dir, clock, log)
        cache.restoreHeldRuns()
    }

    func sync(_ csv: String) throws -> SyncRunResult {
        try dir.write("people.csv", csv)
        return cache.syncCSV(name: "badges", path: dir.file("people.csv"))
    }

    func active(_ email: String) -> Bool? { cache.user(idOrEmail: email)?.active }
}

private let everyone = """
    email,display_name,role,badge
    root@example.com,Root Admin,admin,A0
    ann@example.com,Ann Lee,user,0001
    ben@example.com,Ben Ng,manager,0002
    cat@example.com,Cat Ho,user,0003

    """
/// Ann and Ben gone: 2 of 4 active users, above the 20 % limit.
private let shrunk = "email,display_name,role,badge\nroot@example.com,Root Admin,admin,A0\ncat@example.com,Cat Ho,user,0003\n"
/// Only Root left: 3 of 4.
private let onlyRoot = "email,display_name,role,badge\nroot@example.com,Root Admin,admin,A0\n"

@Suite struct HeldRunTests {
    @Test func aHeldRunIsConfirmedByIdAfterARestartAndItsRowsGo() throws {
        let f = try Restartable()
        #expect(try f.sync(everyone).status == .succeeded)
        let held = try f.sync(shrunk)
        let id = try #require(held.run.id)
        #expect(held.status == .held)
        // An outage (here: an unreadable file) ends nothing: the held answer stays confirmable.
        #expect(f.cache.syncCSV(name: "badges", path: f.dir.file("gone.csv")).status == .failed)

        try f.restart()
        #expect(f.cache.confirmableRuns == [id])
        #expect(f.active("ann@example.com") == true)
        let applied = try f.cache.applyHeld(runID: id)
        #expect(applied.status == .succeeded)
        #expect(applied.reason?.hasPrefix("confirmed by an admin after being held") == true)
        #expect(f.active("ann@example.com") == false && f.active("cat@example.com") == true)
        #expect(try f.cache.store.heldRowCount() == 0)
        #expect(throws: DirectoryError.self) { try f.cache.applyHeld(runID: id) }

        try f.restart()
        #expect(f.cache.confirmableRuns.isEmpty)
    }

    @Test func aNewerHeldRunReplacesTheOlderAndTheAnswerSaysWhich() throws {
        let f = try Restartable()
        #expect(try f.sync(everyone).status == .succeeded)
        let first = try #require(try f.sync(shrunk).run.id)
        let second = try #require(try f.sync(onlyRoot).run.id)
        #expect(f.cache.confirmableRuns == [second])
        for restart in [false, true] {
            if restart { try f.restart() }
            do {
                _ = try f.cache.applyHeld(runID: first)
                Issue.record("a replaced held run was applied")
            } catch {
                #expect(error.code == .conflict)
                #expect(error.reason.contains("held run \(second) of badges"), "\(error.reason)")
            }
        }
        #expect(try f.cache.applyHeld(runID: second).status == .succeeded)
        #expect(f.active("cat@example.com") == false)
    }

    @Test func aRunThatAppliesEndsTheHeldAnswer() throws {
        let f = try Restartable()
        #expect(try f.sync(everyone).status == .succeeded)
        let held = try #require(try f.sync(shrunk).run.id)
        #expect(try f.sync(everyone).status == .succeeded)
        try f.restart()
        do {
            _ = try f.cache.applyHeld(runID: held)
            Issue.record("a stale held run was applied")
        } catch {
            #expect(error.code == .conflict && error.reason.contains("no longer kept"), "\(error.reason)")
        }
        #expect(try f.cache.store.heldRowCount() == 0)
        #expect(f.active("ann@example.com") == true)
    }

    @Test func aLargeHeldAnswerIsWrittenAndReadBackInSlices() throws {
        let dir = TemporaryDirectory("fc-held-large")
        func open() throws -> (Reactor, DirectoryCache) {
            let reactor = try Reactor()
            let cache = DirectoryCache(store: try DirectoryStore(path: dir.file("directory.sqlite")), clock: reactor.clock,
                                       logger: Logger(label: "test.held"), policy: AuthorizationPolicy())
            cache.loop = reactor
            cache.stagingThreshold = 100_000
            cache.heldRuns.sliceGap = .zero
            return (reactor, cache)
        }
        var (reactor, cache) = try open()
        let source = ListSource("big", ListSource.crowd(12_000))
        var result: SyncRunResult?
        cache.sync(source: source) { result = $0 }
        _ = try reactor.run(until: { result != nil }, limit: .seconds(30))
        #expect(result?.status == .succeeded)

        // 5,000 of 12,000 disabled upstream: held, and its 12,001 people saved a slice per pass.
        for i in 0..<5_000 { source.people[i + 1].active = false }
        result = nil
        cache.sync(source: source) { result = $0 }
        _ = try reactor.run(until: { result != nil }, limit: .seconds(30))
        let id = try #require(result?.run.id)
        #expect(result?.status == .held)
        #expect(try cache.store.heldRowCount() < 12_001)
        #expect(try reactor.run(until: { (try? cache.store.heldRowCount()) == 12_001 }, limit: .seconds(30)))

        (reactor, cache) = try open()
        cache.restoreHeldRuns()
        do {
            _ = try cache.applyHeld(runID: id)
            Issue.record("applied before the answer was read back")
        } catch {
            #expect(error.code == .conflict && error.reason.contains("being read back"), "\(error.reason)")
        }
        #expect(try reactor.run(until: { cache.confirmableRuns == [id] }, limit: .seconds(30)))
        // 5,000 changes: planned and staged over loop passes, like a large sync.
        cache.stagingThreshold = 4_000
        cache.sliceGap = .zero
        var outcome: Result<SyncRunResult, DirectoryError>?
        let started = try cache.confirmHeld(runID: id) { outcome = $0 }
        #expect(started?.status == .running && outcome == nil)
        #expect(try cache.store.run(id: id)?.status == .running)
        #expect(try reactor.run(until: { outcome != nil }, limit: .seconds(30)))
        let applied = try #require(try outcome?.get())
        #expect(applied.status == .succeeded && applied.run.counts["slices"] != nil)
        #expect(applied.reason?.hasPrefix("confirmed by an admin after being held") == true)
        #expect(try cache.store.run(id: id)?.status == .succeeded)
        #expect(applied.plan?.deactivations.count == 5_000)
        #expect(try cache.store.activeCount(source: "big") == 7_001)
        #expect(try reactor.run(until: { (try? cache.store.heldRowCount()) == 0 }, limit: .seconds(30)))
    }

    @Test func aLargeConfirmationThatCannotApplyAnyMoreLeavesTheRunHeldAndTheCacheAlone() throws {
        let dir = TemporaryDirectory("fc-held-refused")
        let reactor = try Reactor()
        let cache = DirectoryCache(store: try DirectoryStore(path: dir.file("directory.sqlite")), clock: reactor.clock,
                                   logger: Logger(label: "test.held"), policy: AuthorizationPolicy())
        cache.loop = reactor
        cache.stagingThreshold = 5
        cache.sliceGap = .zero
        func sync(_ source: ListSource) throws -> SyncRunResult {
            var result: SyncRunResult?
            cache.sync(source: source) { result = $0 }
            #expect(try reactor.run(until: { result != nil && !cache.isStaging }, limit: .seconds(20)))
            return try #require(result)
        }
        let big = ListSource("big", ListSource.crowd(10))
        #expect(try sync(big).status == .succeeded)
        for i in 1...5 { big.people[i].active = false }
        big.people.append(Person(externalID: "new", email: "new@example.com", displayName: "New", role: .user,
                                 badge: nil, active: true))
        let id = try #require(try sync(big).run.id)
        // Meanwhile another source hands the newcomer's address to someone else.
        let other = ListSource("other", [
            Person(externalID: "boss", email: "boss@example.com", displayName: "Boss", role: .admin, badge: nil, active: true),
            Person(externalID: "n2", email: "new@example.com", displayName: "Someone", role: .user, badge: nil, active: true),
        ])
        #expect(try sync(other).status == .succeeded)

        var outcome: Result<SyncRunResult, DirectoryError>?
        #expect(try cache.confirmHeld(runID: id) { outcome = $0 }?.status == .running)
        #expect(try reactor.run(until: { outcome != nil }, limit: .seconds(20)))
        guard case .failure(let error) = outcome else {
            Issue.record("applied: \(String(describing: outcome))")
            return
        }
        #expect(error.code == .conflict && error.reason.contains("new@example.com"), "\(error.reason)")
        let run = try #require(try cache.store.run(id: id))
        #expect(run.status == .held && run.reason?.contains("a confirmation failed and changed nothing") == true)
        #expect(cache.confirmableRuns == [id])
        #expect(try cache.store.activeCount(source: "big") == 11)
    }

    @Test func aHeldDeltaIsConfirmedByIdAfterARestart() throws {
        let f = try GraphFixture()
        #expect(try f.sync().status == .succeeded)
        let start = f.storedDeltaLink
        for id in ["u-bob", "u-mia", "u-ned"] { f.graph.updateUser(id, [("accountEnabled", false)]) }
        f.graph.updateUser("u-hal", [("displayName", "Hal Renamed")])
        let held = try f.syncDelta()
        let id = try #require(held.run.id)
        #expect(held.status == .held)
        #expect(held.reason?.contains("sync apply --force") == true)
        #expect(f.storedDeltaLink == start)
        // The next delta round reads the same changes: the first held run stays the one to confirm.
        let again = try f.syncDelta()
        #expect(again.status == .held && again.run.id != id)
        #expect(try f.cache.store.run(id: #require(again.run.id))?.reason?.contains("the same changes as held run \(id)") == true)
        #expect(f.cache.confirmableRuns == [id])

        // The same source object, a new cache on the same file: what a restarted daemon has.
        let cache = DirectoryCache(store: try DirectoryStore(path: f.dir.file("directory.sqlite")), clock: f.reactor.clock,
                                   logger: f.log.logger, policy: AuthorizationPolicy())
        cache.restoreHeldRuns()
        let applied = try cache.applyHeld(runID: id)
        #expect(applied.status == .succeeded)
        #expect(applied.run.counts["mode"] == "delta")
        #expect(applied.plan?.deactivations.count == 3)
        #expect(cache.user(idOrEmail: "bob@contoso.com")?.active == false)
        #expect(cache.user(idOrEmail: "hal@contoso.com")?.displayName == "Hal Renamed")
        #expect(try cache.store.deltaLink(source: "m365") != start)
        #expect(try cache.store.heldRowCount() == 0)
    }

    @Test func heldChangesKeepWhatTheyCarriedAndNothingMore() throws {
        let changes = [
            GraphUser(id: "a", accountEnabled: .some(false)),
            GraphUser(id: "b", mail: .some(nil), displayName: .some("B"), badge: .some("X-1")),
            GraphUser(id: "c", removed: true),
        ]
        for change in changes {
            #expect(GraphUser.decode(change.heldItem, badgeAttribute: .employeeID) == change)
        }
    }
}

@Suite struct GroupPinTests {
    @Test func pinsMoveOnlyWhenARunAppliesAndARenameIsExplainedAfterARestart() throws {
        let f = try GraphFixture()
        f.source.pinStore = f.cache.store
        #expect(try f.sync().status == .succeeded)
        #expect(f.source.pinnedGroups[.user] == "g-user" && f.source.pinnedGroups.count == 5)

        // The User group re-created empty: held, and the pin stays on the group that applied.
        f.graph.groups["g-user"] = nil
        f.graph.addGroup("g-user-2", "UMA User")
        let held = try f.sync()
        #expect(held.status == .held)
        #expect(f.source.pinnedGroups[.user] == "g-user")
        #expect(f.log.lines.contains { $0.message.contains("changed identity") && $0.metadata["new_id"] == "g-user-2" })
        #expect(try f.cache.applyHeld(runID: #require(held.run.id)).status == .succeeded)
        #expect(f.source.pinnedGroups[.user] == "g-user-2")

        // A restarted daemon: a new source and cache on the same file still know the pin.
        let cache = DirectoryCache(store: try DirectoryStore(path: f.dir.file("directory.sqlite")), clock: f.reactor.clock,
                                   logger: f.log.logger, policy: AuthorizationPolicy())
        let source = GraphSource(settings: f.source.settings, http: f.http, reactor: f.reactor, logger: f.log.logger)
        source.pinStore = cache.store
        f.graph.groups["g-mgr"]?.displayName = "UMA Managers"
        var result: SyncRunResult?
        cache.sync(source: source) { result = $0 }
        _ = try f.reactor.run(until: { result != nil }, limit: .seconds(20))
        #expect(result?.status == .failed)
        #expect(result?.reason?.contains("(id g-mgr) was renamed to \"UMA Managers\"") == true, "\(result?.reason ?? "")")
        #expect(cache.user(idOrEmail: "ned@contoso.com")?.role == .manager)
        #expect(source.pinnedGroups[.manager] == "g-mgr")
    }
}

@Suite struct CacheRestartTests {
    @Test func aRestartedCacheKeepsItsAgeAndTurnsStalePastMaxCacheAge() throws {
        let f = try Restartable()
        #expect(try f.sync(everyone).status == .succeeded)
        func door(_ badge: String) -> Decision {
            f.cache.authorize(credential: Credential(type: .badge, value: badge), deviceID: "door", action: .checkin) {
                DeviceContext(id: $0, kind: "checkin_panel", resource: "hq/lobby")
            }
        }
        f.clock.advance(by: .seconds(3 * 86_400))
        try f.restart()
        // Counted from the recorded sync, not from the restart.
        #expect(abs((f.cache.cacheAge ?? 0) - 3 * 86_400) < 0.001)
        #expect(door("0001").isAllowed && abs((door("0001").cacheAge ?? 0) - 3 * 86_400) < 0.001)

        f.clock.advance(by: .seconds(4 * 86_400 + 1))  // 7 days and a second: past the default max_cache_age
        try f.restart()
        #expect(door("0001").reason == .cacheStale)
        #expect(door("0002").reason == .cacheStale)  // a Manager too
        #expect(door("A0").isAllowed)  // deny all but Admin
        #expect(door("9999").reason == .unknownCredential)

        // A failed run does not make the cache fresh; a successful one does.
        #expect(f.cache.syncCSV(name: "badges", path: f.dir.file("gone.csv")).status == .failed)
        #expect(door("0001").reason == .cacheStale)
        #expect(try f.sync(everyone).status == .succeeded)
        #expect(door("0001").isAllowed)
    }

    @Test func aRunInterruptedByAStopIsRecordedAsFailedAtTheNextStart() throws {
        let f = try Restartable()
        let id = try f.cache.store.recordRun(SyncRun(source: "m365", status: .running, startedAt: f.clock.unixTime))
        f.clock.advance(by: .seconds(60))
        try f.restart()
        f.cache.recoverAfterRestart()
        let run = try #require(try f.cache.store.run(id: id))
        #expect(run.status == .failed && run.finishedAt == f.clock.unixTime)
        #expect(run.reason?.contains("the daemon stopped before this run was recorded as finished") == true)
    }
}
