@testable import DirectoryCache
import FleetLoop
import FleetTestSupport
import Logging
import Testing

/// A cache on a reactor driven by a ManualClock, fed from a CSV file.
private final class LocalFixture {
    let dir = TemporaryDirectory("fc-retention")
    let clock = ManualClock(unixTime: 1_800_000_000)
    let reactor: Reactor
    let cache: DirectoryCache

    init() throws {
        reactor = try Reactor(clock: clock)
        cache = DirectoryCache(store: try DirectoryStore(path: dir.file("directory.sqlite")), clock: clock,
                               logger: Logger(label: "test.retention"), policy: AuthorizationPolicy())
    }

    func sync(_ rows: [String], force: Bool = true) throws -> SyncRunResult {
        try dir.write("people.csv", (["email,display_name,role,badge,active", "root@example.com,Root,admin,A0,true"] + rows)
            .joined(separator: "\n"))
        return cache.syncCSV(name: "badges", path: dir.file("people.csv"), force: force)
    }

    func door(_ badge: String) -> Decision {
        cache.authorize(credential: Credential(type: .badge, value: badge), deviceID: "door", action: .checkin) {
            DeviceContext(id: $0, kind: "checkin_panel", resource: "hq/lobby")
        }
    }

    var days: Duration { .seconds(86_400) }
}

@Suite struct OverridesRetentionTests {
    @Test func aBlockedBadgeIsRefusedAtOnceSurvivesSyncsAndIsAudited() throws {
        let f = try LocalFixture()
        #expect(try f.sync(["ann@example.com,Ann,user,B1,true", "old@example.com,Old,user,B2,false"]).status == .succeeded)
        try f.cache.block(userIDOrEmail: "ann@example.com", note: "lost badge")
        #expect(f.door("B1").reason == .blocked)
        #expect(try f.sync(["ann@example.com,Ann,manager,B1,true", "old@example.com,Old,user,B2,false"]).status == .succeeded)
        #expect(f.door("B1").reason == .blocked)
        #expect(try f.cache.restore(userIDOrEmail: "ann@example.com") == 1)
        #expect(f.door("B1").isAllowed)

        // A temporary pass for an inactive person ends on its own.
        #expect(throws: DirectoryError.self) { try f.cache.allow(userIDOrEmail: "old@example.com", until: f.clock.unixTime - 1) }
        try f.cache.allow(userIDOrEmail: "old@example.com", until: f.clock.unixTime + 3600)
        #expect(f.door("B2").isAllowed)
        f.clock.advance(by: .seconds(3600))
        #expect(f.door("B2").reason == .inactive)

        let actions = try f.cache.store.adminAudit().map(\.action)
        #expect(actions == ["allow", "restore", "block"])
        #expect(throws: DirectoryError.self) { try f.cache.block(userIDOrEmail: "nobody@example.com") }
        #expect(throws: DirectoryError.self) { try f.cache.purge(userIDOrEmail: "ann@example.com") }  // active
        try f.cache.purge(userIDOrEmail: "old@example.com")
        #expect(f.cache.user(idOrEmail: "old@example.com") == nil)
    }

    @Test func inactivePeopleArePurgedAfterRetentionInSlicesOnePerTick() throws {
        let f = try LocalFixture()
        let gone = (0..<1_200).map { "p\($0)@example.com,P \($0),user,,false" }
        #expect(try f.sync(gone + ["kept@example.com,Kept,user,K1,false"]).status == .succeeded)
        try f.cache.allow(userIDOrEmail: "kept@example.com", until: f.clock.unixTime + 60 * 86_400)
        _ = f.door("K1")  // an audit row that ages too
        let sweeper = RetentionSweeper(cache: f.cache, reactor: f.reactor, inactiveRetention: f.days * 30,
                                       auditRetention: f.days * 90, slice: 500)
        sweeper.start(every: .seconds(3600))
        #expect(sweeper.purgedUsers == 0)

        f.clock.advance(by: f.days * 29)
        try f.reactor.tick(timeoutMS: 0)
        #expect(sweeper.purgedUsers == 0)

        f.clock.advance(by: f.days * 2)
        try f.reactor.tick(timeoutMS: 0)  // the hourly timer: first slice
        #expect(sweeper.purgedUsers == 500)
        try f.reactor.tick(timeoutMS: 0)
        #expect(sweeper.purgedUsers == 1_000)
        try f.reactor.tick(timeoutMS: 0)
        #expect(sweeper.purgedUsers == 1_200)
        #expect(try f.cache.store.users().map(\.email).sorted() == ["kept@example.com", "root@example.com"])
        #expect(try f.cache.store.adminAudit().first?.action == "purge_inactive")

        f.clock.advance(by: f.days * 60)
        try f.reactor.tick(timeoutMS: 0)
        #expect(f.cache.user(idOrEmail: "kept@example.com") == nil)  // the pass ended, retention applies
        #expect(try f.cache.store.audit().isEmpty)  // older than 90 days
    }
}
