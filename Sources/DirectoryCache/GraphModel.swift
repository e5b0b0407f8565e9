import FleetJSON

/// Where a Graph user keeps the badge number: `employeeId` or one of the fifteen Exchange
/// custom attributes (`onPremisesExtensionAttributes.extensionAttributeN`).
public enum BadgeAttribute: Sendable, Equatable, CustomStringConvertible {
    case employeeID
    case extensionAttribute(Int)

    /// Parses the `badge_attribute` config value; nil for anything else.
    public init?(config: String) {
        let prefix = "onPremisesExtensionAttributes.extensionAttribute"
        if config == "employeeId" {
            self = .employeeID
        } else if config.hasPrefix(prefix), let n = Int(config.dropFirst(prefix.count)), (1...15).contains(n) {
            self = .extensionAttribute(n)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .employeeID: "employeeId"
        case .extensionAttribute(let n): "onPremisesExtensionAttributes.extensionAttribute\(n)"
        }
    }

    /// The top-level property to `$select` (Graph selects whole complex properties).
    var selectField: String {
        switch self {
        case .employeeID: "employeeId"
        case .extensionAttribute: "onPremisesExtensionAttributes"
        }
    }

    /// `.some(nil)` when the property is present but empty or null; nil when the item does not
    /// carry it at all (a partial delta object), so a merge keeps the badge it had.
    func value(in item: JSON) -> String?? {
        switch self {
        case .employeeID:
            guard let raw = item["employeeId"] else { return nil }
            return .some(raw.string)
        case .extensionAttribute(let n):
            guard let attributes = item["onPremisesExtensionAttributes"] else { return nil }
            return .some(attributes["extensionAttribute\(n)"]?.string)
        }
    }
}

/// One Graph user as a page carried it. Every field is optional because delta pages may carry only
/// what changed; ``merged(with:)`` lays a later partial object over an earlier one.
public struct GraphUser: Sendable, Equatable {
    public var id: String
    public var mail: String??
    public var userPrincipalName: String??
    public var displayName: String??
    public var accountEnabled: Bool??
    /// Raw badge attribute value (not yet normalized).
    public var badge: String??
    /// `@removed` was set: deleted (or soft-deleted) upstream.
    public var removed: Bool

    public init(
        id: String, mail: String?? = nil, userPrincipalName: String?? = nil, displayName: String?? = nil,
        accountEnabled: Bool?? = nil, badge: String?? = nil, removed: Bool = false
    ) {
        self.id = id
        self.mail = mail
        self.userPrincipalName = userPrincipalName
        self.displayName = displayName
        self.accountEnabled = accountEnabled
        self.badge = badge
        self.removed = removed
    }

    /// The user in a `transitiveMembers` or `users/delta` item; nil for groups, devices, contacts
    /// and service principals. Items without `@odata.type` (delta pages of `/users`) are users.
    public static func decode(_ item: JSON, badgeAttribute: BadgeAttribute) -> GraphUser? {
        if let type = item["@odata.type"]?.string, type != "#microsoft.graph.user" { return nil }
        guard let id = item["id"]?.string, !id.isEmpty else { return nil }
        func text(_ key: String) -> String?? {
            guard let value = item[key] else { return nil }
            return .some(value.string)
        }
        var user = GraphUser(id: id, mail: text("mail"), userPrincipalName: text("userPrincipalName"),
            displayName: text("displayName"), badge: badgeAttribute.value(in: item),
            removed: item["@removed"] != nil)
        if let enabled = item["accountEnabled"] { user.accountEnabled = .some(enabled.bool) }
        return user
    }

    /// This user with every field `later` carries laid over it.
    public func merged(with later: GraphUser) -> GraphUser {
        var out = self
        if let v = later.mail { out.mail = v }
        if let v = later.userPrincipalName { out.userPrincipalName = v }
        if let v = later.displayName { out.displayName = v }
        if let v = later.accountEnabled { out.accountEnabled = v }
        if let v = later.badge { out.badge = v }
        out.removed = later.removed
        return out
    }

    /// Why this user cannot be cached, or the person; `roles` are the role groups they are in.
    func person(roles: Set<Role>) -> Result<Person, SkipReason> {
        let candidates = [mail ?? nil, userPrincipalName ?? nil].compactMap { $0 }
        guard let email = candidates.lazy.compactMap(Person.normalizedEmail).first else { return .failure(.noEmail) }
        var badgeValue: String?
        if let raw = badge ?? nil {
            guard case .success(let normalized) = Person.normalizedBadge(raw) else { return .failure(.badBadge) }
            badgeValue = normalized
        }
        let name = (displayName ?? nil).map(Person.trimmed).flatMap { $0.isEmpty ? nil : $0 } ?? email
        return .success(Person(externalID: id, email: email, displayName: name, role: Role.lowest(roles),
            badge: badgeValue, active: !removed && (accountEnabled ?? nil) != false))
    }

    enum SkipReason: Error { case noEmail, badBadge }
}

/// One page of a Graph collection: its items and where to go next.
struct GraphPage {
    var items: [JSON]
    /// Follow exactly as given; more pages (possibly after an empty one).
    var nextLink: String?
    /// Delta rounds end with this; store it for the next round.
    var deltaLink: String?

    static func decode(_ body: [UInt8], what: String) throws(DirectoryError) -> GraphPage {
        let json: JSON
        do { json = try JSON.parse(body) } catch {
            throw DirectoryError(.upstream, operation: what, reason: "the answer is not JSON (byte \(error.offset): \(error.reason))")
        }
        guard let items = json["value"]?.array else {
            throw DirectoryError(.upstream, operation: what, reason: "the answer has no \"value\" array")
        }
        return GraphPage(items: items, nextLink: json["@odata.nextLink"]?.string,
            deltaLink: json["@odata.deltaLink"]?.string)
    }
}

/// A page of users (`transitiveMembers`, `users/delta`) decoded straight from the bytes: only the
/// `$select`ed fields of each item become strings; everything else is checked and skipped. A page
/// of 999 users costs a fraction of building its whole JSON tree first, which matters because the
/// page is decoded on the loop between two door requests. Decodes exactly as
/// ``GraphUser/decode(_:badgeAttribute:)`` does over the tree (the tests hold both to that).
struct GraphMemberPage {
    /// Users in page order; an item may be partial (delta) or `@removed`.
    var users: [GraphUser]
    /// Items that are not users: nested groups, devices, contacts, items without an id.
    var skipped: Int
    var nextLink: String?
    var deltaLink: String?

    private static let pageKeys = JSONKeys(["value", "@odata.nextLink", "@odata.deltaLink"])

    static func decode(_ body: [UInt8], what: String, badgeAttribute: BadgeAttribute) throws(DirectoryError) -> GraphMemberPage {
        var page = GraphMemberPage(users: [], skipped: 0)
        var sawValue = false
        do throws(JSONError) {
            var reader = JSONReader(body)
            if reader.peek() != .object {
                // Not an object: the reader says why in JSON terms, or else there is no "value".
                try reader.skipValue()
                try reader.end()
            } else {
                try readPage(&reader, into: &page, sawValue: &sawValue, badgeAttribute: badgeAttribute)
                try reader.end()
            }
        } catch {
            throw DirectoryError(.upstream, operation: what, reason: "the answer is not JSON (byte \(error.offset): \(error.reason))")
        }
        guard sawValue else { throw DirectoryError(.upstream, operation: what, reason: "the answer has no \"value\" array") }
        return page
    }
}

extension GraphMemberPage {
    /// The members of the page object at `reader`; a repeated `value` counts with its last array.
    private static func readPage(
        _ reader: inout JSONReader, into page: inout GraphMemberPage, sawValue: inout Bool, badgeAttribute: BadgeAttribute
    ) throws(JSONError) {
        let fields = GraphUser.Fields(badgeAttribute)
        try reader.beginObject()
        while let key = try reader.nextMember(pageKeys) {
            switch key {
            case 0:
                guard reader.peek() == .array else {
                    try reader.skipValue()
                    sawValue = false
                    continue
                }
                sawValue = true
                page.users = []
                page.skipped = 0
                page.users.reserveCapacity(1_000)
                try reader.beginArray()
                while try reader.nextElement() {
                    if let user = try GraphUser.read(&reader, fields) { page.users.append(user) } else { page.skipped += 1 }
                }
            case 1: page.nextLink = try reader.readString()
            case 2: page.deltaLink = try reader.readString()
            default: try reader.skipValue()
            }
        }
    }
}

extension GraphUser {
    /// The member names a user item is read by, for one badge attribute.
    struct Fields {
        let item = JSONKeys(["@odata.type", "id", "mail", "userPrincipalName", "displayName", "accountEnabled",
                             "employeeId", "onPremisesExtensionAttributes", "@removed"])
        let badgeAttribute: BadgeAttribute
        /// `extensionAttributeN` inside `onPremisesExtensionAttributes`, when that holds the badge.
        let extensionKey: JSONKeys?

        init(_ badgeAttribute: BadgeAttribute) {
            self.badgeAttribute = badgeAttribute
            if case .extensionAttribute(let n) = badgeAttribute {
                extensionKey = JSONKeys(["extensionAttribute\(n)"])
            } else {
                extensionKey = nil
            }
        }
    }

    /// The user in the item at `reader` (which ends up past it); nil for what ``decode(_:badgeAttribute:)``
    /// skips. A repeated member counts with its last value, as in a parsed object.
    static func read(_ reader: inout JSONReader, _ fields: Fields) throws(JSONError) -> GraphUser? {
        guard reader.peek() == .object else {
            try reader.skipValue()
            return nil
        }
        var type: String?
        var id: String?
        var user = GraphUser(id: "")
        try reader.beginObject()
        while let key = try reader.nextMember(fields.item) {
            switch key {
            case 0: type = try reader.readString()
            case 1: id = try reader.readString()
            case 2: user.mail = .some(try reader.readString())
            case 3: user.userPrincipalName = .some(try reader.readString())
            case 4: user.displayName = .some(try reader.readString())
            case 5: user.accountEnabled = .some(try reader.readBool())
            case 6 where fields.badgeAttribute == .employeeID: user.badge = .some(try reader.readString())
            case 7 where fields.extensionKey != nil: user.badge = .some(try readExtension(&reader, fields.extensionKey!))
            case 8:
                user.removed = true
                try reader.skipValue()
            default: try reader.skipValue()
            }
        }
        if let type, type != "#microsoft.graph.user" { return nil }
        guard let id, !id.isEmpty else { return nil }
        user.id = id
        return user
    }

    /// `extensionAttributeN` of an `onPremisesExtensionAttributes` value; nil when it is missing,
    /// null or not a string, or the value is not an object.
    private static func readExtension(_ reader: inout JSONReader, _ key: JSONKeys) throws(JSONError) -> String? {
        guard reader.peek() == .object else {
            try reader.skipValue()
            return nil
        }
        var value: String?
        try reader.beginObject()
        while let member = try reader.nextMember(key) {
            if member == 0 { value = try reader.readString() } else { try reader.skipValue() }
        }
        return value
    }
}

/// How a Graph error answer reads: `{"error":{"code","message"}}` (Graph) or
/// `{"error","error_description"}` (the token endpoint).
struct GraphErrorBody {
    var code: String
    var message: String

    init(_ body: [UInt8]) {
        let json = try? JSON.parse(body)
        if let error = json?["error"], let code = error["code"]?.string {
            self.code = code
            message = error["message"]?.string ?? ""
        } else {
            code = json?["error"]?.string ?? ""
            // AADSTS descriptions continue with trace and correlation ids: keep the first line.
            let description = json?["error_description"]?.string ?? ""
            message = description.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        }
    }

    var summary: String {
        switch (code.isEmpty, message.isEmpty) {
        case (true, true): "no details"
        case (false, true): code
        case (true, false): message
        case (false, false): "\(code): \(message)"
        }
    }

    /// 410 Gone, `syncStateNotFound` or `resyncRequired`: the delta token is no good any more.
    static func isResync(status: Int, code: String) -> Bool {
        let lower = code.lowercased()
        return status == 410 || lower == "syncstatenotfound" || lower == "resyncrequired"
    }
}

/// Percent-encoding for URLs and `application/x-www-form-urlencoded` bodies.
enum URLText {
    /// Everything but RFC 3986 unreserved characters is escaped.
    static func encoded(_ text: String) -> String {
        var out = ""
        for b in text.utf8 {
            switch b {
            case 0x30...0x39, 0x41...0x5a, 0x61...0x7a, 0x2d, 0x2e, 0x5f, 0x7e:
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b & 15)]))
            }
        }
        return out
    }

    static func form(_ fields: [(String, String)]) -> String {
        fields.map { "\(encoded($0.0))=\(encoded($0.1))" }.joined(separator: "&")
    }

    /// `displayName in ('UMA Admin','O''Brien')`: OData string literals double their quotes.
    static func displayNameFilter(_ names: [String]) -> String {
        let literals = names.map { "'" + $0.replacingAll("'", with: "''") + "'" }
        return "displayName in (" + literals.joined(separator: ",") + ")"
    }

    /// The host of an absolute URL, for messages ("cannot reach graph.microsoft.com").
    static func host(_ url: String) -> String {
        let parts = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        let authority = url.contains("://") && parts.count > 2 ? parts[2] : Substring(url)
        return String(authority.prefix { $0 != "/" && $0 != "?" })
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
