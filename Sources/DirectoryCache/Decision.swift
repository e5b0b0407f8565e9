import FleetJSON

/// An authorization answer: allow or deny, why, for whom, and how old the cache behind it is.
/// Panels get it over MQTT and the admin API over HTTP, in the same JSON shape.
public struct Decision: Sendable, Equatable {
    public enum Verdict: String, Sendable {
        case allow, deny
    }

    /// Why; the raw values are the API's `reason` codes.
    public enum Reason: String, Sendable, CaseIterable {
        case ok
        case unknownCredential = "unknown_credential"
        case inactive
        case blocked
        case roleTooLow = "role_too_low"
        case deviceNotAllowed = "device_not_allowed"
        case cacheStale = "cache_stale"
    }

    public var decision: Verdict
    public var reason: Reason
    /// The user the credential matched, if any (also on denials, for the audit trail).
    public var user: User?
    public var role: Role?
    /// Seconds since the last successful sync of the user's source; nil if it never synced.
    public var cacheAge: Double?

    public init(decision: Verdict, reason: Reason, user: User?, role: Role?, cacheAge: Double?) {
        self.decision = decision
        self.reason = reason
        self.user = user
        self.role = role
        self.cacheAge = cacheAge
    }

    public var isAllowed: Bool { decision == .allow }

    /// `{"decision","reason","user":{…}|null,"role":…|null,"cache_age_s":N|null}`, with the
    /// age in whole seconds (rounded down; a panel shows it, nobody needs fractions).
    public func json() -> JSON {
        [
            "decision": JSON(decision.rawValue),
            "reason": JSON(reason.rawValue),
            "user": user?.json() ?? .null,
            "role": JSON(role?.rawValue),
            "cache_age_s": cacheAge.map { JSON(Int(max(0, $0).rounded(.down))) } ?? .null,
        ]
    }
}
