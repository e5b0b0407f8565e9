@testable import DirectoryCache
import FleetLoop
import FleetTestSupport
import Logging
import Testing

/// A source that answers with a fixed list at once.
final class ListSource: DirectorySource {
    let name: String
    var people: [Person]
    init(_ name: String, _ people: [Person]) {
        self.name = name
        self.people = people
    }
    func read(completion: @escaping (Result<DirectorySnapshot, DirectoryError>) -> Void) {
        completion(.success(DirectorySnapshot(source: name, origin: name, people: people)))
    }

    static func crowd(_ n: Int, role: Role = .user, prefix: String = "p") -> [Person] {
        [Person(externalID: "admin", email: "admin@example.com", displayName: "Admin", role: .admin, badge: "A-0", active: true)]
            + (0..<n).map {
                Person(externalID: "\(prefix)\($0)", email: "\(prefix)\($0)@example.com", displayName: "Person \($0)",
                       role: role, badge: "B-\($0)", active: true)
            }
    }
}

@Suite struct StagedApplyTests {
    private func fixture() throws -> (TemporaryDirectory, Reactor, DirectoryCache) {
        let dir = TemporaryDirectory("fc-staged")
        let reactor = try Reactor()
        let cache = DirectoryCache(store: try DirectoryStore(path: dir.file("directory.sqlite")), clock: reactor.clock,
                                   logger: Logger(label: "test.staged"), policy: AuthorizationPolicy())
        cache.loop = reactor
        cache.stagingThreshold = 1_000
        cache.sliceGap = .zero
        return (dir, reactor, cache)
    }

    private func count(_ cache: DirectoryCache) throws -> Int {
        Int(try cache.store.db.queryOne("SELECT count(*) FROM users")?.int64(0) ?? -1)
    }

    /// Ticks the loop one pass at a time until the run is reported, checking after every pass that
    /// readers see the whole old table or the whole new one, never a mix.
    private func drive(_ reactor: Reactor, _ cache: DirectoryCache, source: any DirectorySource,
                       before: Int, after: Int) throws -> (SyncRunResult, passes: Int) {
        var result: SyncRunResult?
        cache.sync(source: source, force: true) { result = $0 }
        var passes = 0
        while result == nil && passes < 100_000 {
            try reactor.tick(timeoutMS: 0)
            passes += 1
            let seen = try count(cache)
            #expect(seen == before || (seen == after && result != nil), "pass \(passes) saw \(seen) people")
            if seen != before && seen != after { break }
        }
        while cache.staging != nil && passes < 100_000 {
            try reactor.tick(timeoutMS: 0)
            passes += 1
        }
        return (try #require(result), passes)
    }

    @Test func aLargeChangeSetIsStagedInSlicesAndSwitchedInAtOnce() throws {
        let (_, reactor, cache) = try fixture()
        let small = ListSource("m365", ListSource.crowd(9))
        cache.sync(source: small)  // 10 changes: applied directly
        #expect(try count(cache) == 10)
        try cache.block(userIDOrEmail: "p3@example.com", note: "lost badge")

        let big = ListSource("m365", ListSource.crowd(20_000))
        let (result, passes) = try drive(reactor, cache, source: big, before: 10, after: 20_001)
        #expect(result.status == .succeeded, "\(result.reason ?? "")")
        #expect(result.run.counts["adds"] == 19_991)
        #expect((result.run.counts["slices"]?.int ?? 0) > 5)
        #expect(passes > 5)
        let door = { (badge: String) in
            cache.authorize(credential: Credential(type: .badge, value: badge), deviceID: "d", action: .checkin) {
                DeviceContext(id: $0, kind: "checkin_panel", resource: "r")
            }
        }
        #expect(door("B-19999").isAllowed)
        #expect(door("B-3").reason == .blocked)  // the override followed the switch
        #expect(cache.search(prefix: "Person 19999").count == 1)
        #expect(try cache.store.db.query("PRAGMA foreign_key_check").isEmpty)
        let tables = try cache.store.db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'users%'")
        #expect(tables.compactMap { $0.text(0) } == ["users"])

        // A second generation (the renamed table's schema is copied again); a small sync of
        // another source during the staging is refused and changes nothing.
        let other = ListSource("badges", [Person(externalID: "x", email: "x@other.example", displayName: "X", role: .admin,
                                                 badge: nil, active: true)])
        var refused: SyncRunResult?
        var reported: SyncRunResult?
        cache.sync(source: ListSource("m365", ListSource.crowd(20_000, role: .manager)), force: true) { reported = $0 }
        _ = try reactor.run(until: { cache.isStaging })  // planned in slices, now staging
        cache.sync(source: other) { refused = $0 }
        #expect(refused?.status == .failed)
        #expect(refused?.reason?.contains("large change set") == true)
        _ = try reactor.run(until: { reported != nil && cache.staging == nil }, limit: .seconds(60))
        #expect(reported?.status == .succeeded)
        #expect(cache.user(idOrEmail: "p77@example.com")?.role == .manager)
        #expect(door("B-3").reason == .blocked)
        #expect(try count(cache) == 20_001)
    }
}
