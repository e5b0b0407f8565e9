@testable import DirectoryCache
import FleetJSON
import FleetLoop
import FleetTestSupport
import Logging
import Testing

extension GraphFixture {
    func door(email: String) -> Decision {
        cache.authorize(credential: Credential(type: .email, value: email), deviceID: "door", action: .checkin) {
            DeviceContext(id: $0, kind: "checkin_panel", resource: "hq/lobby")
        }
    }
}

@Suite struct UPNAliasTests {
    @Test(arguments: [
        // (mail, userPrincipalName, cached email, alias)
        ("bob@contoso.com", "bob@contoso.com", "bob@contoso.com", nil),
        ("Bob@Contoso.com", "bob@contoso.com", "bob@contoso.com", nil),
        ("bob@contoso.com", "Bob.User@contoso.onmicrosoft.com", "bob@contoso.com", "bob.user@contoso.onmicrosoft.com"),
        (nil, "ben@contoso.onmicrosoft.com", "ben@contoso.onmicrosoft.com", nil),
        ("bob@contoso.com", "not an address", "bob@contoso.com", nil),
    ] as [(String?, String?, String, String?)])
    func aSignInNameIsKeptOnlyWhenItIsAnotherAddress(mail: String?, upn: String?, email: String, alias: String?) throws {
        let user = GraphUser(id: "u", mail: .some(mail), userPrincipalName: .some(upn), displayName: .some("U"))
        let person = try user.person(roles: [.user]).get()
        #expect(person.email == email)
        #expect(user.upnAlias(email: person.email) == alias)
    }

    @Test func anEmailCredentialMatchesTheUPNThroughFullAndDeltaRuns() throws {
        let f = try GraphFixture()
        f.graph.updateUser("u-bob", [("userPrincipalName", "Bob.User@contoso.onmicrosoft.com")])
        #expect(try f.sync().status == .succeeded)
        let byUPN = f.door(email: " bob.user@CONTOSO.onmicrosoft.com ")
        #expect(byUPN.isAllowed && byUPN.user?.email == "bob@contoso.com")
        #expect(f.door(email: "bob@contoso.com").isAllowed)
        #expect(f.cache.user(idOrEmail: "bob.user@contoso.onmicrosoft.com")?.displayName == "Bob User")
        #expect(f.door(email: "ada@contoso.onmicrosoft.com").reason == .unknownCredential)

        // A delta round renames the sign-in: the old name stops working at once.
        f.graph.updateUser("u-bob", [("userPrincipalName", "robert@contoso.onmicrosoft.com")])
        #expect(try f.syncDelta().status == .succeeded)
        #expect(f.door(email: "robert@contoso.onmicrosoft.com").isAllowed)
        #expect(f.door(email: "bob.user@contoso.onmicrosoft.com").reason == .unknownCredential)
        #expect(f.door(email: "bob@contoso.com").isAllowed)  // a UPN-only change leaves the mail as it was

        // A full run that no longer lists it drops it; a disabled account is refused by either name.
        f.graph.updateUser("u-bob", [("userPrincipalName", "bob@contoso.com")])
        f.graph.updateUser("u-mia", [("userPrincipalName", "mia.both@contoso.onmicrosoft.com"), ("accountEnabled", false)])
        #expect(try f.sync().status == .succeeded)
        #expect(f.door(email: "robert@contoso.onmicrosoft.com").reason == .unknownCredential)
        #expect(f.door(email: "mia.both@contoso.onmicrosoft.com").reason == .inactive)
    }

    @Test func aHeldAnswerKeepsItsSignInNamesThroughARestart() throws {
        let f = try GraphFixture()
        #expect(try f.sync().status == .succeeded)
        f.graph.groups["g-user"]?.members = ["u-mia"]
        f.graph.updateUser("u-mia", [("userPrincipalName", "mia.both@contoso.onmicrosoft.com")])
        let held = try f.sync()
        #expect(held.status == .held)
        let cache = DirectoryCache(store: try DirectoryStore(path: f.dir.file("directory.sqlite")), clock: f.reactor.clock,
                                   logger: f.log.logger, policy: AuthorizationPolicy())
        cache.restoreHeldRuns()
        #expect(try cache.applyHeld(runID: #require(held.run.id)).status == .succeeded)
        #expect(try cache.store.user(upn: "mia.both@contoso.onmicrosoft.com")?.email == "mia@contoso.com")
    }

    @Test func manyNamesAreReplacedInSlicesOnTheLoop() throws {
        let dir = TemporaryDirectory("fc-upn")
        let reactor = try Reactor()
        let cache = DirectoryCache(store: try DirectoryStore(path: dir.file("directory.sqlite")), clock: reactor.clock,
                                   logger: Logger(label: "test.upn"), policy: AuthorizationPolicy())
        cache.loop = reactor
        cache.upnAliases.sliceGap = .zero
        func people(_ domain: String) -> [Person] {
            ListSource.crowd(3_000).map { person in
                var p = person
                p.upn = "\(p.externalID)@\(domain)"
                return p
            }
        }
        func count() -> Int {
            Int((try? cache.store.db.queryOne("SELECT count(*) FROM user_upns")?.int64(0)) ?? -1)
        }
        let source = ListSource("big", people("old.example"))
        var result: SyncRunResult?
        cache.sync(source: source) { result = $0 }
        #expect(try reactor.run(until: { result?.status == .succeeded && count() == 3_001 }, limit: .seconds(30)))
        #expect(try cache.store.user(upn: "p42@old.example")?.email == "p42@example.com")

        source.people = people("new.example")
        result = nil
        cache.sync(source: source) { result = $0 }
        #expect(try reactor.run(until: { result != nil }, limit: .seconds(30)))
        #expect(count() < 6_002)  // not all at once
        #expect(try reactor.run(until: { count() == 3_001 && (try? cache.store.user(upn: "p42@old.example")) == .some(nil) },
                                limit: .seconds(30)))
        #expect(try cache.store.user(upn: "p42@new.example")?.email == "p42@example.com")
    }
}
