/// What a panel presented.
public struct Credential: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case badge
        case email
        case userID = "user_id"
    }

    public var type: Kind
    public var value: String

    public init(type: Kind, value: String) {
        self.type = type
        self.value = value
    }

    /// The value as the cache keys it: badges trimmed and upper-cased, emails trimmed and
    /// lower-cased, user ids trimmed. Audit hashes are taken over this form, so the same card
    /// read by two readers hashes the same.
    public var normalizedValue: String {
        switch type {
        case .badge: (try? Person.normalizedBadge(value).get()).flatMap { $0 } ?? Person.trimmed(value)
        case .email: Person.trimmed(value).lowercased()
        case .userID: Person.trimmed(value)
        }
    }
}

/// Something a device asks to let a person do. Extensible: compare with the static members.
public struct Action: RawRepresentable, Hashable, Sendable {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Check in at a door or desk panel.
    public static let checkin = Action(rawValue: "checkin")
    /// Open a door or release a lock.
    public static let open = Action(rawValue: "open")
    /// Use a panel's own settings screen.
    public static let admin = Action(rawValue: "admin")
    /// The actions a device's policy may list; a config naming another is refused.
    public static let known: [Action] = [.checkin, .open, .admin]
}

/// What the cache knows about the asking device.
public struct DeviceContext: Sendable, Equatable {
    public var id: String
    /// room_display | kiosk | checkin_panel | people_counter | eink_display.
    public var kind: String
    public var resource: String
    /// The lowest role this device admits.
    public var minimumRole: Role
    /// What this device may ask for; anything else is `device_not_allowed`.
    public var allowedActions: Set<Action>

    public init(
        id: String, kind: String, resource: String, minimumRole: Role = .user, allowedActions: Set<Action> = [.checkin]
    ) {
        self.id = id
        self.kind = kind
        self.resource = resource
        self.minimumRole = minimumRole
        self.allowedActions = allowedActions
    }
}

/// How offline decisions age.
public struct AuthorizationPolicy: Sendable, Equatable {
    /// What a stale cache still allows.
    public enum StaleMode: String, Sendable {
        /// Only active Admins get in (the default: someone can always reach the box).
        case denyAllButAdmin = "deny_all_but_admin"
        case denyAll = "deny_all"
        /// Age is reported but not enforced.
        case allowAll = "allow_all"
    }

    /// Seconds after the last successful sync at which the cache counts as stale (7 days).
    public var maxCacheAge: Double
    public var stale: StaleMode
    /// Whether a cache that never synced counts as stale. Off by default: people enter the cache
    /// only through a successful sync of their source, so "never synced" means an empty cache
    /// where every credential is `unknown_credential` anyway; turning it on matters only for
    /// rows put there by other means (a restored backup without its meta table).
    public var neverSyncedIsStale: Bool

    public init(maxCacheAge: Double = 7 * 86_400, stale: StaleMode = .denyAllButAdmin, neverSyncedIsStale: Bool = false) {
        self.maxCacheAge = maxCacheAge
        self.stale = stale
        self.neverSyncedIsStale = neverSyncedIsStale
    }

    /// Whether a cache of this age (nil = never synced) is past its validity.
    public func isStale(cacheAge: Double?) -> Bool {
        guard let cacheAge else { return neverSyncedIsStale }
        return cacheAge > maxCacheAge
    }
}

/// The offline decision, without I/O: same inputs, same answer.
public enum Authorizer {
    /// Decides whether `user` (found by `credential`, nil if nothing matched) may do `action` on
    /// `device` at `now`.
    ///
    /// Checks run in this order and the first that denies names the reason: the device must be
    /// known and allow the action (`device_not_allowed`); the credential must match a user
    /// (`unknown_credential`); no `block` override in force (`blocked`); active, or an `allow`
    /// override in force (`inactive`); a stale cache admits only whom the stale mode admits
    /// (`cache_stale`); the role must meet the device's minimum (`role_too_low`); else `ok`.
    public static func decide(
        credential: Credential, device: DeviceContext?, action: Action, user: User?, overrides: [Override],
        cacheAge: Double?, policy: AuthorizationPolicy, now: Double
    ) -> Decision {
        func deny(_ reason: Decision.Reason) -> Decision {
            Decision(decision: .deny, reason: reason, user: user, role: user?.role, cacheAge: cacheAge)
        }
        guard let device, device.allowedActions.contains(action) else { return deny(.deviceNotAllowed) }
        guard let user else { return deny(.unknownCredential) }
        let inForce = overrides.filter { $0.userID == user.id && $0.isActive(at: now) }
        if inForce.contains(where: { $0.kind == .block }) { return deny(.blocked) }
        if !user.active && !inForce.contains(where: { $0.kind == .allow }) { return deny(.inactive) }
        if policy.isStale(cacheAge: cacheAge) {
            switch policy.stale {
            case .denyAll: return deny(.cacheStale)
            case .denyAllButAdmin where user.role != .admin: return deny(.cacheStale)
            case .denyAllButAdmin, .allowAll: break
            }
        }
        // An allowed-through inactive person with no role left is admitted as a plain user.
        guard (user.role ?? .user).meets(device.minimumRole) else { return deny(.roleTooLow) }
        return Decision(decision: .allow, reason: .ok, user: user, role: user.role, cacheAge: cacheAge)
    }
}
