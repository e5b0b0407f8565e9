import FleetJSON

/// A person in the cache, as stored in `directory.sqlite`.
public struct User: Sendable, Equatable {
    /// Stable id derived from source and external id (see ``stableID(source:externalID:)``); it
    /// never changes when the email or name does, so audit rows and overrides keep pointing at it.
    public var id: String
    /// The source's own key for the person (the email for CSV).
    public var externalID: String
    public var email: String
    public var displayName: String
    /// The person's role; nil when they are in no role group.
    public var role: Role?
    public var active: Bool
    /// Never listed in search (role Hidden User); still authorizable.
    public var hidden: Bool
    /// Normalized badge id. Never leaves the box in API answers; only `badge_set` does.
    public var badge: String?
    /// The configured source name this person came from (their primary source).
    public var source: String
    /// Unix time of the last change a sync made to this row.
    public var updatedAt: Double
    /// Unix time the person became inactive; nil while active.
    public var deactivatedAt: Double?

    public init(
        id: String, externalID: String, email: String, displayName: String, role: Role?, active: Bool,
        hidden: Bool, badge: String?, source: String, updatedAt: Double, deactivatedAt: Double? = nil
    ) {
        self.id = id
        self.externalID = externalID
        self.email = email
        self.displayName = displayName
        self.role = role
        self.active = active
        self.hidden = hidden
        self.badge = badge
        self.source = source
        self.updatedAt = updatedAt
        self.deactivatedAt = deactivatedAt
    }

    /// `u_` and 24 hex digits of SHA-256 over source and external id: stable across runs and
    /// restarts, the same on every box fed by the same source, and free of personal data.
    public static func stableID(source: String, externalID: String) -> String {
        "u_" + Sha256.hex(source + "\u{0}" + externalID).prefix(24)
    }

    /// The API shape `{"id","email","display_name","role","active","hidden","badge_set","sources"}`.
    /// The badge itself is left out on purpose: a leaked answer must not let anyone clone a card.
    public func json() -> JSON {
        [
            "id": JSON(id),
            "email": JSON(email),
            "display_name": JSON(displayName),
            "role": JSON(role?.rawValue),
            "active": .bool(active),
            "hidden": .bool(hidden),
            "badge_set": .bool(badge != nil),
            "sources": [["name": JSON(source), "primary": true]],
        ]
    }
}

/// A local decision that beats the directory until it expires: block a lost badge, or let an
/// inactive person in for a while. Overrides survive syncs.
public struct Override: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Deny every credential of the user.
        case block
        /// Let an inactive user through.
        case allow
    }

    public var id: Int64?
    public var userID: String
    public var kind: Kind
    /// Unix time it stops applying; nil for "until removed".
    public var until: Double?
    public var createdAt: Double
    public var note: String?

    public init(id: Int64? = nil, userID: String, kind: Kind, until: Double?, createdAt: Double, note: String? = nil) {
        self.id = id
        self.userID = userID
        self.kind = kind
        self.until = until
        self.createdAt = createdAt
        self.note = note
    }

    /// In force at `now`: not yet expired (an override ending exactly at `now` has ended).
    public func isActive(at now: Double) -> Bool {
        guard let until else { return true }
        return now < until
    }
}
