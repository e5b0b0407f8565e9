@testable import DirectoryCache
import FleetJSON
import FleetLoop
import FleetTestSupport
import GraphStandIn
import Logging
import Testing

/// A tenant with the five role groups, a nested group, a device, a disabled user and badges in
/// employeeId, served by the stand-in; a GraphSource and a cache on the same loop.
final class GraphFixture {
    let reactor: Reactor
    let http: HTTPClient
    let graph: GraphStandIn
    let dir = TemporaryDirectory("fc-graph")
    let log = CapturedLogs()
    let source: GraphSource
    let cache: DirectoryCache

    init(pageSize: Int = 999, retry: RetryPolicy = RetryPolicy(baseDelay: .milliseconds(20)),
         badge: BadgeAttribute = .employeeID, clock: any Clock = SystemClock()) throws {
        reactor = try Reactor(clock: clock)
        http = HTTPClient(reactor: reactor)
        graph = try GraphStandIn(reactor: reactor)
        try dir.write("secret", "s3cret~value\n")
        let logger = log.logger
        source = GraphSource(settings: GraphSettings(
            name: "m365", tenantID: graph.tenant, clientID: graph.clientID, clientSecretFile: dir.file("secret"),
            loginURL: graph.baseURL, graphURL: graph.baseURL + "/", badgeAttribute: badge, pageSize: pageSize,
            retry: retry), http: http, reactor: reactor, logger: logger)
        source.random = { 0.5 }
        cache = DirectoryCache(store: try DirectoryStore(path: dir.file("directory.sqlite")), clock: reactor.clock,
                               logger: logger, policy: AuthorizationPolicy())
        graph.addExampleTenant()
    }

    func read() throws -> Result<DirectorySnapshot, DirectoryError> {
        var result: Result<DirectorySnapshot, DirectoryError>?
        source.read { result = $0 }
        _ = try reactor.run(until: { result != nil }, limit: .seconds(20))
        return try #require(result)
    }

    func sync(force: Bool = false) throws -> SyncRunResult {
        var result: SyncRunResult?
        cache.sync(source: source, force: force) { result = $0 }
        _ = try reactor.run(until: { result != nil }, limit: .seconds(20))
        return try #require(result)
    }

    var graphRequests: [GraphStandIn.Logged] { graph.requests.filter { $0.path.hasPrefix("/v1.0/") } }
}

@Suite struct GraphSourceTests {
    @Test func fullReadResolvesGroupsOnceFollowsEveryPageAndKeepsUsersOnly() throws {
        let f = try GraphFixture(pageSize: 2)
        let snapshot = try f.read().get()
        let byEmail = Dictionary(uniqueKeysWithValues: snapshot.people.map { ($0.email, $0) })
        #expect(byEmail["ada@contoso.com"]?.role == .admin)
        #expect(byEmail["ada@contoso.com"]?.badge == "B-0001")
        #expect(byEmail["bob@contoso.com"]?.role == .user)
        #expect(byEmail["u-ben@contoso.onmicrosoft.com"]?.role == .user)  // no mail: the UPN
        #expect(byEmail["mia@contoso.com"]?.role == .user)  // Manager and User: the lowest
        #expect(byEmail["ned@contoso.com"]?.role == .manager)  // through the nested group
        #expect(byEmail["hal@contoso.com"]?.role == .hiddenUser)
        #expect(byEmail["dis@contoso.com"]?.active == false)
        #expect(snapshot.people.count == 7)
        #expect(snapshot.isComplete)
        // The nested group object and the device are not people.
        #expect(f.source.lastRead.nonUserObjects == 3)

        let groupQueries = f.graphRequests.filter { $0.path == "/v1.0/groups" }
        #expect(groupQueries.count == 1)
        #expect(groupQueries.first?.query["$filter"]
                == "displayName in ('UMA Admin','UMA Advanced Manager','UMA Manager','UMA User','UMA Hidden User')")
        let members = f.graphRequests.filter { $0.path.hasSuffix("/transitiveMembers") }
        let firstPages = members.filter { $0.query["$skiptoken"] == nil }
        #expect(firstPages.count == 5)
        #expect(firstPages.allSatisfy { $0.query["$top"] == "2" && $0.query["$select"]?.contains("employeeId") == true })
        // Later pages are the nextLink as given: the stand-in refuses anything else.
        #expect(members.count - firstPages.count >= 3)
        #expect(f.graphRequests.allSatisfy { $0.headers["x-ms-throttle-priority"] == "Low" })
        #expect(f.graphRequests.allSatisfy { $0.headers["authorization"]?.hasPrefix("Bearer eyJ") == true })
        #expect(f.graph.tokensIssued == 1)
    }

    @Test func syncAppliesAndADoorDecidesOffline() throws {
        let f = try GraphFixture()
        let result = try f.sync()
        #expect(result.status == .succeeded, "\(result.reason ?? "")")
        #expect(result.run.counts["adds"]?.int == 7)
        f.graph.stop()
        let decision = f.cache.authorize(credential: Credential(type: .badge, value: "b-3001"), deviceID: "door",
                                         action: .checkin) { DeviceContext(id: $0, kind: "checkin_panel", resource: "hq/lobby") }
        #expect(decision.isAllowed && decision.role == .manager)
        let again = try f.sync()
        #expect(again.status == .failed)
        #expect(again.error?.code == .network)
        #expect(again.reason?.contains("cannot reach 127.0.0.1") == true)
        #expect(f.cache.user(idOrEmail: "ned@contoso.com")?.active == true)
    }

    @Test func extensionAttributeCarriesTheBadge() throws {
        let f = try GraphFixture(badge: .extensionAttribute(1))
        let snapshot = try f.read().get()
        #expect(snapshot.people.first { $0.email == "ada@contoso.com" }?.badge == "X-1")
        #expect(snapshot.people.first { $0.email == "bob@contoso.com" }?.badge == nil)
        #expect(f.graphRequests.last?.query["$select"]?.contains("onPremisesExtensionAttributes") == true)
    }

    @Test(arguments: [(429, "0.05"), (503, "0.05"), (504, nil as String?)])
    func throttledAnswersWaitAsToldThenSucceed(status: Int, retryAfter: String?) throws {
        let f = try GraphFixture()
        f.graph.throttle = 2
        f.graph.throttleStatus = status
        f.graph.retryAfter = retryAfter
        let started = SystemClock().now
        let snapshot = try f.read().get()
        #expect(snapshot.people.count == 7)
        #expect(f.source.throttledAnswers == 2)
        // Retry-After is honoured to the millisecond; without it, 20 ms doubling with jitter 0.5.
        let expected: [Duration] = retryAfter != nil ? [.milliseconds(50), .milliseconds(50)]
                                                     : [.milliseconds(15), .milliseconds(30)]
        #expect(f.source.retryWaits == expected)
        #expect(SystemClock().now.since(started) >= expected.reduce(.zero, +))
    }

    @Test func aTenantThatKeepsThrottlingFailsTheRunAndChangesNothing() throws {
        let f = try GraphFixture(retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10)))
        #expect(try f.sync().status == .succeeded)
        f.graph.throttle = 100
        f.graph.retryAfter = "0.01"
        let result = try f.sync()
        #expect(result.status == .failed)
        #expect(result.error?.code == .throttled)
        #expect(result.reason?.contains("throttling") == true)
        #expect(f.source.throttledAnswers == 3)
        // A Retry-After longer than the policy allows gives up at once instead of hammering.
        f.graph.retryAfter = "900"
        let before = f.source.requestsSent
        #expect(try f.sync().error?.code == .throttled)
        #expect(f.source.requestsSent - before == 1)
        #expect(f.cache.user(idOrEmail: "bob@contoso.com")?.active == true)
    }

    @Test func duplicateGroupNamesFailTheRunNamingTheGroup() throws {
        let f = try GraphFixture()
        f.graph.addGroup("g-user-2", "UMA User", members: ["u-bob"])
        let result = try f.sync()
        #expect(result.status == .failed)
        #expect(result.error?.code == .roleGroup)
        #expect(result.reason?.contains("2 groups in tenant contoso.onmicrosoft.com are named \"UMA User\"") == true)
        #expect(try f.cache.store.users().isEmpty)
    }

    @Test func aMissingGroupFailsAndARenamedOneIsExplained() throws {
        let f = try GraphFixture()
        f.graph.groups["g-mgr"] = nil
        let missing = try f.sync()
        #expect(missing.error?.code == .roleGroup)
        #expect(missing.reason?.contains("no group in tenant contoso.onmicrosoft.com is named \"UMA Manager\"") == true)

        f.graph.addGroup("g-mgr", "UMA Manager", members: ["u-mia"])
        #expect(try f.sync().status == .succeeded)
        #expect(f.source.pinnedGroups[.manager] == "g-mgr")
        f.graph.groups["g-mgr"]?.displayName = "UMA Managers"
        let renamed = try f.sync()
        #expect(renamed.status == .failed)
        #expect(renamed.reason?.contains("renamed to \"UMA Managers\"") == true)
        #expect(f.cache.user(idOrEmail: "mia@contoso.com")?.active == true)
    }

    @Test func noEnabledAdminFailsAndAnEmptiedGroupIsHeld() throws {
        let f = try GraphFixture()
        #expect(try f.sync().status == .succeeded)
        f.graph.updateUser("u-ada", [("accountEnabled", false)])
        let noAdmin = try f.sync()
        #expect(noAdmin.status == .failed)
        #expect(noAdmin.reason?.contains("no active Admin") == true)
        #expect(noAdmin.reason?.contains("\"UMA Admin\" in Entra ID") == true)
        f.graph.updateUser("u-ada", [("accountEnabled", true)])

        f.graph.groups["g-user"]?.members = []
        let held = try f.sync()
        #expect(held.status == .held)
        #expect(held.plan?.deactivations.count == 2)  // bob, ben (mia keeps Manager)
        #expect(f.cache.user(idOrEmail: "bob@contoso.com")?.active == true)
    }

    @Test func aRevokedTokenIsRenewedOnceAndAWrongSecretIsNeverLogged() throws {
        let f = try GraphFixture()
        _ = try f.read().get()
        f.graph.revokeTokens()
        _ = try f.read().get()
        #expect(f.graph.tokensIssued == 2)

        try f.dir.write("secret", "wrong-secret-value")
        f.graph.revokeTokens()
        let result = try f.sync()
        #expect(result.error?.code == .credentials)
        #expect(result.reason?.contains("AADSTS7000215") == true)
        #expect(result.reason?.contains("Trace ID") == false)
        let logged = f.log.lines.map { "\($0.message) \($0.metadata)" }.joined()
        #expect(!logged.contains("wrong-secret-value") && !(result.reason ?? "").contains("wrong-secret-value"))
    }

    @Test func theTokenIsRenewedFromExpiresIn() throws {
        let clock = ManualClock()
        let f = try GraphFixture(clock: clock)
        f.graph.tokenLifetime = 3599
        _ = try f.read().get()
        clock.advance(by: .seconds(3000))
        _ = try f.read().get()
        #expect(f.graph.tokensIssued == 1)
        clock.advance(by: .seconds(400))  // past expires_in − 5 min
        _ = try f.read().get()
        #expect(f.graph.tokensIssued == 2)
    }
}
