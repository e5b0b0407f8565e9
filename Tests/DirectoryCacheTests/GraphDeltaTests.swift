@testable import DirectoryCache
import FleetJSON
import FleetLoop
import Testing

extension GraphFixture {
    func syncDelta(force: Bool = false) throws -> SyncRunResult {
        var result: SyncRunResult?
        cache.syncDelta(source: source, force: force) { result = $0 }
        _ = try reactor.run(until: { result != nil }, limit: .seconds(20))
        return try #require(result)
    }

    var storedDeltaLink: String? { try? cache.store.deltaLink(source: "m365") }

    func door(_ badge: String) -> Decision {
        cache.authorize(credential: Credential(type: .badge, value: badge), deviceID: "door", action: .checkin) {
            DeviceContext(id: $0, kind: "checkin_panel", resource: "hq/lobby")
        }
    }
}

@Suite struct GraphDeltaTests {
    @Test func aFullReadTakesTheDeltaStartFirstAndStoresItWithTheApply() throws {
        let f = try GraphFixture()
        #expect(try f.sync().status == .succeeded)
        let first = try #require(f.graphRequests.first)
        #expect(first.path == "/v1.0/users/delta" && first.query["$deltatoken"] == "latest")
        #expect(f.storedDeltaLink?.contains("/v1.0/users/delta?$deltatoken=") == true)
    }

    @Test func changesDisablesDeletionsAndPartialObjectsApplyAtOnce() throws {
        let f = try GraphFixture()
        #expect(try f.sync().status == .succeeded)
        f.cache.rules = SyncRules(maxDeactivationShare: 0.5)
        let start = f.storedDeltaLink
        f.graph.deltaPageSize = 2
        f.graph.updateUser("u-bob", [("accountEnabled", false)])
        f.graph.updateUser("u-mia", [("mail", "mia.new@contoso.com")])
        f.graph.updateUser("u-hal", [("employeeId", "b-4444")])
        f.graph.updateUser("u-bob", [("displayName", "Bob Gone")])  // the same user again
        f.graph.deleteUser("u-ben")
        f.graph.addUser("u-new", mail: "new@contoso.com", name: "New Hire")  // in no role group yet
        let result = try f.syncDelta()
        #expect(result.status == .succeeded, "\(result.reason ?? "")")
        #expect(result.run.counts["mode"] == "delta")
        #expect(result.run.counts["changes_read"] == 6)
        #expect(result.run.counts["deactivations"] == 2)
        #expect(f.door("B-1001").reason == .inactive)
        #expect(f.cache.user(idOrEmail: "bob@contoso.com")?.displayName == "Bob Gone")
        #expect(f.door("B-1002").reason == .inactive)  // deleted upstream
        #expect(f.cache.user(idOrEmail: "mia.new@contoso.com")?.role == .user)
        #expect(f.door("B-4444").isAllowed && f.door("B-4001").reason == .unknownCredential)
        #expect(f.cache.user(idOrEmail: "new@contoso.com") == nil)
        #expect(f.storedDeltaLink != start)

        // Nothing changed: one request, nothing written but the time.
        let before = f.source.requestsSent
        let quiet = try f.syncDelta()
        #expect(quiet.status == .succeeded && quiet.plan?.changes.isEmpty == true)
        #expect(f.source.requestsSent - before == 1)
    }

    @Test func deltaRulesProtectTheLastAdminAndHoldMassDeactivations() throws {
        let f = try GraphFixture()
        #expect(try f.sync().status == .succeeded)
        let start = f.storedDeltaLink
        f.graph.updateUser("u-ada", [("accountEnabled", false)])
        let noAdmin = try f.syncDelta()
        #expect(noAdmin.status == .failed)
        #expect(noAdmin.reason?.contains("no active Admin") == true)
        #expect(f.door("B-0001").isAllowed)
        #expect(f.storedDeltaLink == start)  // the same changes are read again next time

        f.graph.updateUser("u-ada", [("accountEnabled", true)])
        for id in ["u-bob", "u-mia", "u-ned"] { f.graph.updateUser(id, [("accountEnabled", false)]) }
        let held = try f.syncDelta()
        #expect(held.status == .held)
        #expect(f.door("B-1001").isAllowed)
        let forced = try f.syncDelta(force: true)
        #expect(forced.status == .succeeded)
        #expect(f.door("B-1001").reason == .inactive)
    }

    @Test(arguments: [false, true])
    func anExpiredTokenLeadsToAFullRead(viaCode: Bool) throws {
        let f = try GraphFixture()
        #expect(try f.sync().status == .succeeded)
        f.graph.expireDeltaTokens()
        if viaCode {
            // Some tenants answer 400 with the code instead of 410.
            f.graph.deltaExpiryStatus = 400
        }
        f.graph.groups["g-user"]?.members.removeAll { $0 == "u-bob" }
        let result = try f.syncDelta()
        #expect(result.status == .succeeded, "\(result.reason ?? "")")
        #expect(result.run.counts["mode"] == nil)  // a full read, which also sees membership
        #expect(f.door("B-1001").reason == .inactive)
        #expect(f.graph.requests.contains { $0.path == "/v1.0/groups" })
        f.graph.updateUser("u-ned", [("accountEnabled", false)])
        #expect(try f.syncDelta().run.counts["mode"] == "delta")
        #expect(f.door("B-3001").reason == .inactive)
    }
}
