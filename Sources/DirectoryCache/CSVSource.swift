#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A people file: `email,display_name,role,badge,active` with a header row.
///
/// Column order comes from the header, names ignore case and blanks, and a few names other
/// workplace tools export are accepted (`name` for `display_name`, `status` for `active`,
/// `badge_id`, `first_name` + `last_name`). Unknown columns are ignored. `badge` and `active`
/// are optional columns; an empty `role` means "in no role group", which makes the person inactive.
///
/// The file is all or nothing: the first problem rejects it, names the line and column, and
/// nothing is applied.
public final class CSVSource: DirectorySource {
    public let name: String
    public let path: String

    /// Files larger than this are refused rather than read into memory (about 500k rows).
    static let maxBytes = 64 << 20

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    public func read(completion: @escaping (Result<DirectorySnapshot, DirectoryError>) -> Void) {
        completion(Result { () throws(DirectoryError) in try readSnapshot() })
    }

    /// Reads and parses the file now.
    public func readSnapshot() throws(DirectoryError) -> DirectorySnapshot {
        let bytes = try readWholeFile(path, label: CSVSource.baseName(path), maxBytes: CSVSource.maxBytes)
        return try CSVSource.parse(bytes, source: name, file: CSVSource.baseName(path))
    }

    /// Parses file contents into a snapshot; `file` labels errors and reasons. Pure.
    public static func parse(_ bytes: [UInt8], source: String, file: String) throws(DirectoryError) -> DirectorySnapshot {
        let records = try CSVReader.records(bytes, file: file)
        guard let header = records.first else {
            throw DirectoryError(.header, file: file, line: 1, reason: "the file is empty; the first row must name the columns email,display_name,role,badge,active")
        }
        let columns = try Columns(header: header, file: file)
        var people: [Person] = []
        people.reserveCapacity(records.count - 1)
        var lineOfEmail: [String: Int] = [:]
        var lineOfBadge: [String: Int] = [:]
        for record in records.dropFirst() {
            let person = try columns.person(from: record, file: file)
            if let first = lineOfEmail.updateValue(record.line, forKey: person.email) {
                throw DirectoryError(.duplicate, file: file, line: record.line, column: "email",
                    reason: "\(person.email) is also on line \(first) (lines \(first) and \(record.line)); each person needs one row")
            }
            if let badge = person.badge, let first = lineOfBadge.updateValue(record.line, forKey: badge) {
                throw DirectoryError(.duplicate, file: file, line: record.line, column: "badge",
                    reason: "badge \(badge) is also on line \(first) (lines \(first) and \(record.line)); a badge opens for one person only")
            }
            people.append(person)
        }
        return DirectorySnapshot(source: source, origin: file, people: people, isComplete: true,
            adminRemedy: "at least one row needs role admin")
    }

    /// The last path component, which is what reasons shown to people name.
    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}

/// Reads a whole (small) file. Outside the class so `read` is the C function, not the
/// ``DirectorySource`` method.
func readWholeFile(_ path: String, label: String, maxBytes: Int) throws(DirectoryError) -> [UInt8] {
    func failure(_ verb: String) -> DirectoryError {
        DirectoryError(.unreadable, file: label, reason: "cannot \(verb) \(path): \(String(cString: strerror(errno)))")
    }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw failure("open") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw failure("read")
        }
        if n == 0 { return bytes }
        bytes.append(contentsOf: chunk[0..<n])
        guard bytes.count <= maxBytes else {
            throw DirectoryError(.unreadable, file: label, reason: "\(path) is larger than \(maxBytes >> 20) MiB")
        }
    }
}

/// Where each known column sits in this file's header.
private struct Columns {
    var email: Int
    var displayName: Int?
    var firstName: Int?
    var lastName: Int?
    var role: Int
    var badge: Int?
    var active: Int?
    var width: Int

    /// Canonical column for each accepted header spelling (after lower-casing and `-`/space → `_`).
    static let aliases: [String: String] = [
        "email": "email", "e_mail": "email", "email_address": "email", "user_email": "email", "mail": "email",
        "display_name": "display_name", "name": "display_name", "full_name": "display_name",
        "first_name": "first_name", "given_name": "first_name", "user_first_name": "first_name",
        "last_name": "last_name", "surname": "last_name", "family_name": "last_name", "user_last_name": "last_name",
        "role": "role", "user_role": "role",
        "badge": "badge", "badge_id": "badge", "badge_number": "badge",
        "active": "active", "status": "active", "enabled": "active",
    ]

    init(header: CSVRecord, file: String) throws(DirectoryError) {
        var found: [String: (index: Int, spelled: String)] = [:]
        for (index, raw) in header.fields.enumerated() {
            let key = Columns.key(raw)
            guard let canonical = Columns.aliases[key] else { continue }
            if let earlier = found[canonical] {
                throw DirectoryError(.header, file: file, line: header.line, column: canonical,
                    reason: "column \(canonical) is named twice (\"\(earlier.spelled)\" and \"\(Person.trimmed(raw))\"); keep one")
            }
            found[canonical] = (index, Person.trimmed(raw))
        }
        var missing: [String] = []
        if found["email"] == nil { missing.append("email") }
        if found["display_name"] == nil && found["first_name"] == nil && found["last_name"] == nil {
            missing.append("display_name")
        }
        if found["role"] == nil { missing.append("role") }
        guard missing.isEmpty, let email = found["email"]?.index, let role = found["role"]?.index else {
            throw DirectoryError(.header, file: file, line: header.line, column: missing.joined(separator: ","),
                reason: "missing required column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")); the header row must name email,display_name,role (badge,active optional)")
        }
        self.email = email
        self.role = role
        displayName = found["display_name"]?.index
        firstName = found["first_name"]?.index
        lastName = found["last_name"]?.index
        badge = found["badge"]?.index
        active = found["active"]?.index
        width = header.fields.count
    }

    static func key(_ header: String) -> String {
        var key = ""
        for character in Person.trimmed(header).lowercased() {
            key.append(character == " " || character == "-" ? "_" : character)
        }
        return key
    }

    func person(from record: CSVRecord, file: String) throws(DirectoryError) -> Person {
        func invalid(_ column: String, _ reason: String) -> DirectoryError {
            DirectoryError(.invalidValue, file: file, line: record.line, column: column, reason: reason)
        }
        guard record.fields.count == width else {
            throw DirectoryError(.syntax, file: file, line: record.line,
                reason: "row has \(record.fields.count) fields but the header has \(width); quote values that contain commas")
        }
        let fields = record.fields
        let rawEmail = fields[email]
        guard let normalizedEmail = Person.normalizedEmail(rawEmail) else {
            let shown = Person.trimmed(rawEmail)
            throw invalid("email", shown.isEmpty ? "email is empty" : "\"\(shown)\" is not an email address (name@domain.tld)")
        }
        let rawRole = Person.trimmed(fields[role])
        var parsedRole: Role? = nil
        if !rawRole.isEmpty {
            guard let role = Role(text: rawRole) else {
                throw invalid("role", "unknown role \"\(rawRole)\"; use one of \(Role.allCases.map(\.rawValue).joined(separator: ", ")), or leave it empty for no role")
            }
            parsedRole = role
        }
        var parsedBadge: String? = nil
        if let badge {
            switch Person.normalizedBadge(fields[badge]) {
            case .success(let value): parsedBadge = value
            case .failure(let problem): throw invalid("badge", "badge \(problem.reason)")
            }
        }
        var isActive = true
        if let active {
            guard let value = Columns.flag(fields[active]) else {
                throw invalid("active", "\"\(Person.trimmed(fields[active]))\" is not a yes/no value; use true/false, 1/0 or yes/no (empty means true)")
            }
            isActive = value
        }
        return Person(
            externalID: normalizedEmail, email: normalizedEmail,
            displayName: displayName(fields) ?? normalizedEmail,
            role: parsedRole, badge: parsedBadge, active: isActive)
    }

    /// `display_name`, else "first last", else nil (the email stands in).
    private func displayName(_ fields: [String]) -> String? {
        if let displayName {
            let name = Person.trimmed(fields[displayName])
            if !name.isEmpty { return name }
        }
        let parts = [firstName, lastName].compactMap { $0 }.map { Person.trimmed(fields[$0]) }.filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }

    static func flag(_ raw: String) -> Bool? {
        switch Person.trimmed(raw).lowercased() {
        case "", "true", "1", "yes", "y", "active": true
        case "false", "0", "no", "n", "inactive": false
        default: nil
        }
    }
}
