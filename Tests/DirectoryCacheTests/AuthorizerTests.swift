@testable import DirectoryCache
import FleetJSON
import Testing

private let now = 1_800_000_000.0
private let day = 86_400.0

private func member(_ role: Role?, active: Bool = true, id: String = "u_1") -> User {
    User(id: id, externalID: "ann@example.com", email: "ann@example.com", displayName: "Ann", role: role, active: active,
        hidden: role == .hiddenUser, badge: "0001234", source: "badges", updatedAt: now - day,
        deactivatedAt: active ? nil : now - day)
}

private let door = DeviceContext(id: "door-lobby", kind: "checkin_panel", resource: "hq/lobby")
private let boardroom = DeviceContext(id: "door-board", kind: "checkin_panel", resource: "hq/board", minimumRole: .manager)

private func block(until: Double? = nil, user: String = "u_1") -> Override {
    Override(userID: user, kind: .block, until: until, createdAt: now - 60)
}

private func allow(until: Double?) -> Override {
    Override(userID: "u_1", kind: .allow, until: until, createdAt: now - 60)
}

@Suite struct AuthorizerTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var device: DeviceContext? = door
        var action: Action = .checkin
        var user: User?
        var overrides: [Override] = []
        var cacheAge: Double? = 60
        var policy = AuthorizationPolicy()
        var reason: Decision.Reason
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "active user at a door", user: member(.user), reason: .ok),
        Case(name: "unknown device", device: nil, user: member(.admin), reason: .deviceNotAllowed),
        Case(name: "device does not allow the action", action: Action(rawValue: "unlock"), user: member(.admin),
            reason: .deviceNotAllowed),
        Case(name: "no user for the credential", user: nil, reason: .unknownCredential),
        Case(name: "inactive user", user: member(.user, active: false), reason: .inactive),
        Case(name: "inactive with allow override in force", user: member(.user, active: false),
            overrides: [allow(until: now + 3600)], reason: .ok),
        Case(name: "inactive with allow override that never ends", user: member(nil, active: false),
            overrides: [allow(until: nil)], reason: .ok),
        Case(name: "inactive with expired allow override", user: member(.user, active: false),
            overrides: [allow(until: now)], reason: .inactive),
        Case(name: "block override", user: member(.admin), overrides: [block()], reason: .blocked),
        Case(name: "block beats allow", user: member(.user, active: false),
            overrides: [allow(until: nil), block(until: now + 1)], reason: .blocked),
        Case(name: "expired block", user: member(.user), overrides: [block(until: now - 1)], reason: .ok),
        Case(name: "someone else's block", user: member(.user), overrides: [block(user: "u_2")], reason: .ok),
        Case(name: "user at a manager door", device: boardroom, user: member(.user), reason: .roleTooLow),
        Case(name: "manager at a manager door", device: boardroom, user: member(.manager), reason: .ok),
        Case(name: "hidden user at a door", user: member(.hiddenUser), reason: .ok),
        Case(name: "hidden user at a manager door", device: boardroom, user: member(.hiddenUser), reason: .roleTooLow),
        Case(name: "stale cache denies a user", user: member(.user), cacheAge: 8 * day, reason: .cacheStale),
        Case(name: "stale cache still admits an admin", user: member(.admin), cacheAge: 8 * day, reason: .ok),
        Case(name: "exactly max age is not stale", user: member(.user), cacheAge: 7 * day, reason: .ok),
        Case(name: "deny_all denies even an admin", user: member(.admin), cacheAge: 8 * day,
            policy: AuthorizationPolicy(stale: .denyAll), reason: .cacheStale),
        Case(name: "allow_all ignores age", user: member(.user), cacheAge: 80 * day,
            policy: AuthorizationPolicy(stale: .allowAll), reason: .ok),
        Case(name: "custom max age", user: member(.user), cacheAge: 2 * day,
            policy: AuthorizationPolicy(maxCacheAge: day), reason: .cacheStale),
        Case(name: "never synced is fresh by default", user: member(.user), cacheAge: nil, reason: .ok),
        Case(name: "never synced is stale when configured", user: member(.user), cacheAge: nil,
            policy: AuthorizationPolicy(neverSyncedIsStale: true), reason: .cacheStale),
        Case(name: "blocked beats stale", user: member(.admin), overrides: [block()], cacheAge: 8 * day, reason: .blocked),
        Case(name: "inactive beats stale", user: member(.user, active: false), cacheAge: 8 * day, reason: .inactive),
    ]

    @Test(arguments: cases)
    func decides(_ example: Case) {
        let decision = Authorizer.decide(
            credential: Credential(type: .badge, value: "0001234"), device: example.device, action: example.action,
            user: example.user, overrides: example.overrides, cacheAge: example.cacheAge, policy: example.policy, now: now)
        #expect(decision.reason == example.reason)
        #expect(decision.decision == (example.reason == .ok ? .allow : .deny))
        #expect(decision.user == example.user)
        #expect(decision.role == example.user?.role)
        #expect(decision.cacheAge == example.cacheAge)
    }

    @Test func everyReasonIsCovered() {
        let covered = Set(Self.cases.map(\.reason))
        #expect(covered == Set(Decision.Reason.allCases))
        #expect(Decision.Reason.allCases.map(\.rawValue).sorted() == [
            "blocked", "cache_stale", "device_not_allowed", "inactive", "ok", "role_too_low", "unknown_credential",
        ])
    }

    @Test func allowJSONHasTheDesignShapeAndNoBadge() {
        let decision = Decision(decision: .allow, reason: .ok, user: member(.manager), role: .manager, cacheAge: 3.9)
        let json = decision.json()
        #expect(json.serialized() == """
            {"decision":"allow","reason":"ok","user":{"id":"u_1","email":"ann@example.com","display_name":"Ann",\
            "role":"manager","active":true,"hidden":false,"badge_set":true,"sources":[{"name":"badges","primary":true}]},\
            "role":"manager","cache_age_s":3}
            """)
        #expect(!json.serialized().contains("0001234"))
    }

    @Test func unknownCredentialJSONHasNullUserRoleAndAge() {
        let decision = Decision(decision: .deny, reason: .unknownCredential, user: nil, role: nil, cacheAge: nil)
        #expect(decision.json().serialized()
            == #"{"decision":"deny","reason":"unknown_credential","user":null,"role":null,"cache_age_s":null}"#)
    }

    @Test(arguments: [
        (Credential(type: .badge, value: " 0a1f "), "0A1F"),
        (Credential(type: .email, value: " Ann@Example.COM"), "ann@example.com"),
        (Credential(type: .userID, value: "u_1 "), "u_1"),
    ])
    func credentialsNormalize(credential: Credential, value: String) {
        #expect(credential.normalizedValue == value)
    }
}
