@testable import DirectoryCache
import FleetJSON
import FleetLoop
import FleetTestSupport
import GraphStandIn
import Logging
import Testing

private final class CheckinFixture {
    let dir = TemporaryDirectory("fc-checkin")
    let reactor: Reactor
    let http: HTTPClient
    var cache: DirectoryCache!
    var outbox: CheckinOutbox!

    init() throws {
        reactor = try Reactor()
        http = HTTPClient(reactor: reactor)
        try dir.write("people.csv", """
            email,display_name,role,badge,active
            ann@example.com,Ann Admin,admin,B1,true
            old@example.com,Old Timer,user,B2,false
            """)
        try dir.write("token", "cloud-token\n")
    }

    /// Opens (or, after a "restart", reopens) the store, the cache and the outbox.
    func open(url: String) throws {
        cache = DirectoryCache(store: try DirectoryStore(path: dir.file("directory.sqlite")), clock: reactor.clock,
                               logger: Logger(label: "test.checkin"), policy: AuthorizationPolicy())
        var settings = CheckinOutbox.Settings(url: url, tokenFile: dir.file("token"))
        settings.baseDelay = .milliseconds(20)
        outbox = CheckinOutbox(store: cache.store, reactor: reactor, http: http, logger: Logger(label: "test.outbox"),
                               settings: settings)
        cache.checkinStored = { [unowned self] in self.outbox.kick() }
    }

    func checkin(_ event: String, badge: String = "B1") throws -> CheckinReceipt {
        try cache.checkin(deviceID: "door-lobby", eventID: event, credential: Credential(type: .badge, value: badge)) {
            DeviceContext(id: $0, kind: "checkin_panel", resource: "hq/lobby")
        }
    }
}

@Suite struct CheckinOutboxTests {
    @Test func checkinsAreStoredBeforeTheReplyAndReachTheCloudOnceThroughOutageAndRestart() throws {
        let f = try CheckinFixture()
        let cloud = try CloudStandIn(reactor: f.reactor)
        cloud.stop()  // the endpoint is down
        try f.open(url: cloud.url)
        #expect(f.cache.syncCSV(name: "badges", path: f.dir.file("people.csv")).status == .succeeded)

        let first = try f.checkin("evt-1")
        #expect(first.stored && !first.duplicate && first.decision.isAllowed)
        #expect(try f.checkin("evt-2").stored)
        let denied = try f.checkin("evt-3", badge: "B2")
        #expect(!denied.stored && denied.decision.reason == .inactive)
        let retry = try f.checkin("evt-1")
        #expect(retry.duplicate && retry.decision.isAllowed && retry.json()["event_id"] == "evt-1")
        #expect(throws: DirectoryError.self) { try f.checkin("has blank") }
        _ = try f.reactor.run(until: { f.outbox.failedAttempts >= 2 })
        #expect(try f.cache.store.pendingCheckinCount() == 2)
        #expect(try f.cache.store.checkin(deviceID: "door-lobby", eventID: "evt-1")?.lastError?.contains("cannot reach") == true)

        // A restart: everything reopened from directory.sqlite; a retry is still recognised.
        f.outbox = nil
        try f.open(url: cloud.url)
        #expect(try f.cache.store.pendingCheckinCount() == 2)
        #expect(try f.checkin("evt-2").duplicate)

        // The endpoint comes back, first overloaded, then well.
        cloud.status = 503
        try cloud.listen()
        f.outbox.kick()
        _ = try f.reactor.run(until: { cloud.posts >= 1 })
        cloud.status = 200
        _ = try f.reactor.run(until: { f.outbox.delivered == 2 })
        #expect(cloud.accepted.sorted() == ["door-lobby:evt-1", "door-lobby:evt-2"])  // order across retries is not promised
        #expect(cloud.authorizations.allSatisfy { $0 == "Bearer cloud-token" })
        #expect(try f.cache.store.pendingCheckinCount() == 0)

        // New check-ins go out at once; retries of delivered ones are not sent again.
        #expect(try f.checkin("evt-4").stored)
        #expect(try f.checkin("evt-1").duplicate)
        _ = try f.reactor.run(until: { f.outbox.delivered == 3 })
        _ = try f.reactor.run(until: { false }, limit: .milliseconds(100))
        #expect(cloud.accepted.sorted() == ["door-lobby:evt-1", "door-lobby:evt-2", "door-lobby:evt-4"])
    }
}
