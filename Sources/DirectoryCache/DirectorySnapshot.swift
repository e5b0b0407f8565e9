/// One person as a source sees them, before the cache's rules are applied.
public struct Person: Sendable, Equatable {
    /// The source's own key: a Graph object id, an Okta id, or the email for CSV.
    public var externalID: String
    /// Normalized primary email (trimmed, lower-cased).
    public var email: String
    public var displayName: String
    /// The lowest role among the person's role groups; nil when they are in none (→ inactive).
    public var role: Role?
    /// Normalized badge id, nil when the person has none.
    public var badge: String?
    /// False when disabled upstream.
    public var active: Bool
    /// Another address the person signs in with (a Graph UPN that is not `email`); an email
    /// credential matches either.
    public var upn: String?

    public init(
        externalID: String, email: String, displayName: String, role: Role?, badge: String?, active: Bool
    ) {
        self.externalID = externalID
        self.email = email
        self.displayName = displayName
        self.role = role
        self.badge = badge
        self.active = active
    }
}

/// Everything one source said in one read: the input of ``SyncPlan/make(current:snapshot:rules:now:force:)``.
///
/// Every source kind (CSV today; Graph, Google, Okta, SCIM later) ends in this shape, so the
/// rules that protect the cache are written once.
public struct DirectorySnapshot: Sendable, Equatable {
    /// The configured source name (`[[directory.sources]] name`).
    public var source: String
    /// What the source read, in words for reasons: "people.csv", "m365 (graph)".
    public var origin: String
    public var people: [Person]
    /// True only when every page of every collection was read; an incomplete read never applies.
    public var isComplete: Bool
    /// How an operator gives this source an Admin, in the source's own terms.
    public var adminRemedy: String
    /// Where the next delta round of this source starts; stored in the apply's transaction.
    public var deltaLink: String?
    /// Role → group id the source resolved (Graph); pinned in the apply's transaction, so rename
    /// detection survives restarts and only an applied answer moves the pins.
    public var groupPins: [Role: String] = [:]

    public init(
        source: String, origin: String, people: [Person], isComplete: Bool = true,
        adminRemedy: String = "at least one active person needs the Admin role"
    ) {
        self.source = source
        self.origin = origin
        self.people = people
        self.isComplete = isComplete
        self.adminRemedy = adminRemedy
    }
}

extension DirectorySnapshot {
    /// The meta rows an apply of this snapshot writes: the source's next delta start and its
    /// pinned role groups.
    var deltaMeta: [(String, String)] {
        var rows = deltaLink.map { [(DirectoryStore.deltaKey(source), $0)] } ?? []
        for (role, id) in groupPins.sorted(by: { $0.key < $1.key }) { rows.append((DirectoryStore.pinKey(source, role), id)) }
        return rows
    }
}

/// Where people come from. Network sources finish later on the loop, so a read reports through
/// `completion` instead of returning; file sources call it before returning.
public protocol DirectorySource: AnyObject {
    /// The configured source name; it keys users, runs and the last-sync time.
    var name: String { get }
    /// Reads the whole directory once and reports a snapshot or the reason it could not.
    func read(completion: @escaping (Result<DirectorySnapshot, DirectoryError>) -> Void)
}

extension Person {
    /// Trims and lower-cases an email and checks its shape (`local@domain.tld`, no blanks, at
    /// most 254 characters); nil when it is not an address. Every source normalizes through here
    /// so the same person keys the same way whichever source names them.
    public static func normalizedEmail(_ raw: String) -> String? {
        var email = trimmed(raw).lowercased()
        guard email.utf8.count <= 254 else { return nil }
        // ASCII (nearly every address): the rules below in one pass over the bytes.
        let ascii: Bool? = email.withUTF8 { b in
            guard b.allSatisfy({ $0 < 0x80 }) else { return nil }
            let dot = UInt8(ascii: "."), at = UInt8(ascii: "@")
            guard let sign = b.firstIndex(of: at), b.lastIndex(of: at) == sign, sign > 0, sign <= 64,
                sign + 1 < b.count, b[0] != dot, b[sign - 1] != dot, b[sign + 1] != dot, b[b.count - 1] != dot
            else { return false }
            var domainDot = false
            for i in b.indices {
                let c = b[i]
                guard c > 0x20, c != 0x7f, !refusedEmailBytes.contains(c) else { return false }
                if c == dot {
                    if i > sign { domainDot = true }
                    if i + 1 < b.count, b[i + 1] == dot { return false }
                }
            }
            return domainDot
        }
        if let ascii { return ascii ? email : nil }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let local = parts.first, let domain = parts.last,
            !local.isEmpty, local.utf8.count <= 64,
            domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.contains(".."),
            !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..")
        else { return nil }
        let forbidden: Set<Character> = ["(", ")", "<", ">", ",", ";", ":", "\\", "\"", "[", "]"]
        for character in email {
            if character.isWhitespace || forbidden.contains(character) { return nil }
            if character.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) { return nil }
        }
        return email
    }

    /// Trims a badge id and upper-cases ASCII letters, because readers disagree on the case of hex
    /// card numbers; nil for an empty value. Badges are printable ASCII without blanks, at most 64.
    public static func normalizedBadge(_ raw: String) -> Result<String?, BadgeProblem> {
        let badge = trimmed(raw)
        if badge.isEmpty { return .success(nil) }
        guard badge.utf8.count <= 64 else { return .failure(.tooLong) }
        guard badge.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return .failure(.invalidCharacters) }
        return .success(badge.uppercased())
    }

    /// Why a badge value was refused.
    public enum BadgeProblem: Error, Sendable {
        case tooLong, invalidCharacters

        var reason: String {
            switch self {
            case .tooLong: "is longer than 64 characters"
            case .invalidCharacters: "may only hold printable ASCII without blanks"
            }
        }
    }

    private static let refusedEmailBytes: Set<UInt8> = Set("()<>,;:\\\"[]".utf8)

    static func trimmed(_ text: String) -> String {
        // ASCII (nearly every value a directory sends): trim bytes, no Unicode tables.
        var copy = text
        let fast: String?? = copy.withUTF8 { buffer in
            guard buffer.allSatisfy({ $0 < 0x80 }) else { return nil }
            func blank(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0d) }
            var start = 0
            var end = buffer.count
            while start < end, blank(buffer[start]) { start += 1 }
            while end > start, blank(buffer[end - 1]) { end -= 1 }
            if start == 0 && end == buffer.count { return .some(nil) }
            return .some(String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self))
        }
        if let fast { return fast ?? text }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
