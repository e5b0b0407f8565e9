import FleetTestSupport
@testable import DirectoryCache
import FleetJSON
import FleetLoop
import Logging
import Testing


private let goodCSV = """
    email,display_name,role,badge,active
    root@example.com,Root Admin,admin,A0,true
    ann@example.com,Ann Lee,user,0001234,true
    ben@example.com,Ben Ng,manager,0005678,yes
    old@example.com,Old Timer,user,0009999,false
    ghost@example.com,Ghost,hidden_user,0004444,
    """

/// A cache over a fresh `directory.sqlite` with `people.csv` next to it.
private final class Fixture {
    let dir: TemporaryDirectory
    let clock = ManualClock(unixTime: 1_800_000_000)
    let log = CapturedLogs()
    let cache: DirectoryCache
    var csvPath: String { dir.path + "/people.csv" }

    init() throws {
        dir = TemporaryDirectory()
        let store = try DirectoryStore(path: dir.path + "/directory.sqlite")
        let logger = log.logger
        cache = DirectoryCache(store: store, clock: clock, logger: logger, policy: AuthorizationPolicy())
    }

    func sync(_ csv: String, force: Bool = false) throws -> SyncRunResult {
        try dir.write("people.csv", csv)
        return cache.syncCSV(name: "badges", path: csvPath, force: force)
    }

    func authorize(_ type: Credential.Kind, _ value: String, device: String = "door-lobby") -> Decision {
        cache.authorize(credential: Credential(type: type, value: value), deviceID: device, action: .checkin) { id in
            switch id {
            case "door-lobby": DeviceContext(id: id, kind: "checkin_panel", resource: "hq/lobby")
            case "door-board": DeviceContext(id: id, kind: "checkin_panel", resource: "hq/board", minimumRole: .manager)
            default: nil
            }
        }
    }
}

@Suite struct DirectoryCacheTests {
    @Test func syncThenAuthorizeByEveryCredential() throws {
        let f = try Fixture()
        let result = try f.sync(goodCSV)
        #expect(result.status == .succeeded && result.reason == nil)
        #expect(result.run.counts["adds"]?.int == 5)
        #expect(f.cache.cacheAge == 0)
        #expect(f.log.lines.count == 1)
        #expect(f.log.lines.first?.level == .info)
        #expect(f.log.lines.first?.metadata["source"] == "badges")

        f.clock.advance(by: .seconds(42))
        let allowed = f.authorize(.badge, "0001234")
        #expect(allowed.decision == .allow && allowed.reason == .ok)
        #expect(allowed.user?.email == "ann@example.com" && allowed.role == .user)
        #expect(allowed.json()["cache_age_s"]?.int == 42)
        #expect(allowed.json()["user"]?["badge_set"]?.bool == true)

        #expect(f.authorize(.email, "  BEN@Example.com").reason == .ok)
        #expect(f.authorize(.userID, allowed.user!.id).reason == .ok)
        #expect(f.authorize(.badge, "0004444").reason == .ok, "hidden users are authorizable")
        #expect(f.authorize(.badge, "0009999").reason == .inactive)
        #expect(f.authorize(.badge, "0009999").user?.email == "old@example.com")
        let unknown = f.authorize(.badge, "7777777")
        #expect(unknown.reason == .unknownCredential && unknown.user == nil && unknown.decision == .deny)
        #expect(f.authorize(.badge, "0001234", device: "door-unknown").reason == .deviceNotAllowed)
        #expect(f.authorize(.badge, "0001234", device: "door-board").reason == .roleTooLow)
        #expect(f.authorize(.badge, "0005678", device: "door-board").reason == .ok)
    }

    @Test func brokenCSVAfterAGoodOneChangesNothingAndNamesTheLine() throws {
        let f = try Fixture()
        try #require(try f.sync(goodCSV).status == .succeeded)
        let before = try f.cache.store.users()
        f.clock.advance(by: .seconds(3600))

        let broken = try f.sync("""
            email,display_name,role,badge,active
            root@example.com,Root Admin,admin,A0,true
            ann@example.com,Ann Lee,user,0001234,true
            ben@example.com,Ben Ng,boss,0005678,yes
            """)
        #expect(broken.status == .failed)
        #expect(broken.reason?.contains("people.csv:4") == true, "\(broken.reason ?? "")")
        #expect(broken.reason?.contains("boss") == true)
        #expect(broken.error?.line == 4 && broken.error?.column == "role")
        #expect(try f.cache.store.users() == before)
        #expect(try f.cache.store.lastSuccessfulSync(source: "badges") == 1_800_000_000)
        #expect(f.cache.cacheAge == 3600)

        let runs = try f.cache.store.runs()
        #expect(runs.map(\.status) == [.failed, .succeeded])
        #expect(runs.first?.reason == broken.reason && runs.first?.finishedAt == 1_800_003_600)
        #expect(f.log.lines.count == 2 && f.log.lines.last?.level == .warning)
        #expect(f.authorize(.badge, "0001234").reason == .ok)
    }

    @Test func ruleFailuresAndHeldRunsAreRecorded() throws {
        let f = try Fixture()
        let noAdmin = try f.sync("email,display_name,role\nann@example.com,Ann,user\n")
        #expect(noAdmin.status == .failed)
        #expect(noAdmin.reason == "no active Admin in people.csv: at least one row needs role admin")
        #expect(try f.cache.store.users().isEmpty)
        #expect(f.cache.cacheAge == nil)

        try #require(try f.sync(goodCSV).status == .succeeded)
        // Dropping ann and ben deactivates 2 of 4 active users: held, nothing changes.
        let shrunk = "email,display_name,role,badge\nroot@example.com,Root Admin,admin,A0\nghost@example.com,Ghost,hidden_user,0004444\n"
        let held = try f.sync(shrunk)
        #expect(held.status == .held)
        #expect(held.reason?.contains("2 of 4") == true)
        #expect(held.run.counts["deactivations"]?.int == 2)
        #expect(try f.cache.store.user(email: "ann@example.com")?.active == true)

        let forced = try f.sync(shrunk, force: true)
        #expect(forced.status == .succeeded)
        #expect(try f.cache.store.user(email: "ann@example.com")?.active == false)
        #expect(f.authorize(.badge, "0001234").reason == .inactive)
        #expect(try f.cache.store.runs().map(\.status) == [.succeeded, .held, .succeeded, .failed])

        let missing = f.cache.syncCSV(name: "badges", path: f.dir.path + "/nope.csv")
        #expect(missing.status == .failed && missing.error?.code == .unreadable)
    }

    @Test func auditRowsHoldAHashNeverTheBadge() throws {
        let f = try Fixture()
        try #require(try f.sync(goodCSV).status == .succeeded)
        _ = f.authorize(.badge, "0001234")
        _ = f.authorize(.badge, "7777777")
        _ = f.authorize(.email, "ann@example.com", device: "door-unknown")

        let audit = try f.cache.store.audit()
        #expect(audit.count == 3)
        #expect(audit.map(\.reason) == [.deviceNotAllowed, .unknownCredential, .ok])
        #expect(audit.last?.credentialHash == f.cache.store.credentialHash(Credential(type: .badge, value: "0001234")))
        #expect(audit.last?.userID == f.cache.user(idOrEmail: "ann@example.com")?.id)
        #expect(audit[1].userID == nil && audit[1].deviceID == "door-lobby")
        // No column of any audit row holds a raw credential.
        let raw = try f.cache.store.db.query("SELECT * FROM audit")
        for row in raw {
            for value in row.values {
                guard case .text(let text) = value else { continue }
                #expect(!text.contains("0001234") && !text.contains("7777777") && !text.contains("ann@"))
            }
        }
    }

    @Test func staleCacheAdmitsOnlyAdmins() throws {
        let f = try Fixture()
        try #require(try f.sync(goodCSV).status == .succeeded)
        f.clock.advance(by: .seconds(7 * 86_400 + 1))
        let user = f.authorize(.badge, "0001234")
        #expect(user.reason == .cacheStale && user.cacheAge == 7 * 86_400 + 1)
        #expect(f.authorize(.badge, "A0").reason == .ok)
        // A good sync makes the cache fresh again.
        #expect(try f.sync(goodCSV).status == .succeeded)
        #expect(f.authorize(.badge, "0001234").reason == .ok)
    }

    @Test func overridesBlockAndAllowImmediatelyAndSurviveSyncs() throws {
        let f = try Fixture()
        try #require(try f.sync(goodCSV).status == .succeeded)
        let ann = try #require(f.cache.user(idOrEmail: "ANN@example.com"))
        try f.cache.addOverride(.block, userID: ann.id, until: f.clock.unixTime + 600, note: "lost badge")
        #expect(f.authorize(.badge, "0001234").reason == .blocked)
        #expect(try f.sync(goodCSV).status == .succeeded)
        #expect(f.authorize(.badge, "0001234").reason == .blocked)
        f.clock.advance(by: .seconds(600))
        #expect(f.authorize(.badge, "0001234").reason == .ok)

        let old = try #require(f.cache.user(idOrEmail: "old@example.com"))
        try f.cache.addOverride(.allow, userID: old.id, until: f.clock.unixTime + 60)
        #expect(f.authorize(.badge, "0009999").reason == .ok)
    }

    @Test func lookupAndSearch() throws {
        let f = try Fixture()
        try #require(try f.sync(goodCSV).status == .succeeded)
        let ann = try #require(f.cache.user(idOrEmail: " Ann@Example.com "))
        #expect(f.cache.user(idOrEmail: ann.id) == ann)
        #expect(f.cache.user(idOrEmail: "nobody@example.com") == nil)
        #expect(f.cache.search(prefix: "b").map(\.email) == ["ben@example.com"])
        #expect(f.cache.search(prefix: "gh").isEmpty, "hidden users never appear in search")
        #expect(f.cache.search(prefix: "old").isEmpty, "inactive users never appear in search")
        #expect(f.cache.search(prefix: "", limit: 2).map(\.displayName) == ["Ann Lee", "Ben Ng"])
    }

    @Test func anyDirectorySourceRunsTheSameRules() throws {
        final class FixedSource: DirectorySource {
            let name = "m365"
            let snapshot: DirectorySnapshot
            init(_ snapshot: DirectorySnapshot) { self.snapshot = snapshot }
            func read(completion: @escaping (Result<DirectorySnapshot, DirectoryError>) -> Void) {
                completion(.success(snapshot))
            }
        }
        let f = try Fixture()
        let partial = DirectorySnapshot(source: "m365", origin: "m365 (graph)", people: [
            Person(externalID: "obj-1", email: "root@example.com", displayName: "Root", role: .admin, badge: nil, active: true),
        ], isComplete: false)
        var results: [SyncRunResult] = []
        f.cache.sync(source: FixedSource(partial)) { results.append($0) }
        var complete = partial
        complete.isComplete = true
        f.cache.sync(source: FixedSource(complete)) { results.append($0) }
        #expect(results.map(\.status) == [.failed, .succeeded])
        #expect(results.first?.reason?.contains("not read completely") == true)
        #expect(f.cache.user(idOrEmail: "root@example.com")?.source == "m365")
        #expect(try f.cache.store.lastSuccessfulSync(source: "m365") != nil)
    }

    @Test func aSlowSourceShowsARunningRunUntilItAnswers() throws {
        final class PendingSource: DirectorySource {
            let name = "okta"
            var pending: ((Result<DirectorySnapshot, DirectoryError>) -> Void)?
            func read(completion: @escaping (Result<DirectorySnapshot, DirectoryError>) -> Void) { pending = completion }
        }
        let f = try Fixture()
        let source = PendingSource()
        var finished: SyncRunResult?
        f.cache.sync(source: source) { finished = $0 }
        let running = try #require(try f.cache.store.runs().first)
        #expect(running.status == .running && running.source == "okta" && running.finishedAt == nil)

        f.clock.advance(by: .seconds(5))
        source.pending?(.failure(DirectoryError(.unreadable, reason: "okta answered 503 five times")))
        #expect(finished?.status == .failed && finished?.run.id == running.id)
        let recorded = try #require(try f.cache.store.runs().first)
        #expect(recorded.id == running.id && recorded.status == .failed && recorded.finishedAt == running.startedAt + 5)
        #expect(recorded.reason == "okta answered 503 five times")
    }
}
