/// A person's rank in the directory, lowest first.
///
/// The order is the product's promise: a person in several role groups gets the **lowest** rank,
/// and a device admits a person whose rank is at least its minimum. `hiddenUser` is a User who
/// never appears in search; for minimum-role checks it counts as `user` (see ``meets(_:)``), so
/// hidden people can still badge in wherever ordinary users can.
public enum Role: String, CaseIterable, Comparable, Sendable {
    case hiddenUser = "hidden_user"
    case user
    case manager
    case advancedManager = "advanced_manager"
    case admin

    /// Position in the total order Hidden User < User < Manager < Advanced Manager < Admin.
    public var rank: Int {
        switch self {
        case .hiddenUser: 0
        case .user: 1
        case .manager: 2
        case .advancedManager: 3
        case .admin: 4
        }
    }

    /// The Microsoft 365 default group name for this role ("UMA Advanced Manager" …).
    public var displayName: String {
        switch self {
        case .hiddenUser: "UMA Hidden User"
        case .user: "UMA User"
        case .manager: "UMA Manager"
        case .advancedManager: "UMA Advanced Manager"
        case .admin: "UMA Admin"
        }
    }

    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }

    /// Whether this role satisfies a device's minimum role.
    ///
    /// Hidden users are authorizable (DESIGN), so below `manager` the hidden flag does not lower
    /// the rank: a hidden user passes a `user` minimum but not a `manager` one.
    public func meets(_ minimum: Role) -> Bool {
        max(self, .user) >= minimum
    }

    /// Parses the raw value (`advanced_manager`) or the group display name (`UMA Advanced
    /// Manager`), ignoring case, surrounding blanks and the `-`/`_`/space spelling differences
    /// spreadsheets introduce ("Advanced Manager", "advanced-manager").
    public init?(text: String) {
        let key = Role.squash(text)
        guard !key.isEmpty, let role = Role.byKey[key] else { return nil }
        self = role
    }

    /// The lowest of several roles, or nil for none (a person in no role group).
    public static func lowest(_ roles: some Sequence<Role>) -> Role? { roles.min() }

    private static let byKey: [String: Role] = {
        var table: [String: Role] = [:]
        for role in Role.allCases {
            table[squash(role.rawValue)] = role
            table[squash(role.displayName)] = role
            // "UMA " is a naming convention of the groups, not part of the role.
            table[squash(String(role.displayName.dropFirst(4)))] = role
        }
        return table
    }()

    /// Lower-cased letters only, so "UMA Hidden-User" and "uma_hidden_user" meet.
    private static func squash(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars where scalar.properties.isAlphabetic {
            out.unicodeScalars.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
        }
        return out
    }
}
