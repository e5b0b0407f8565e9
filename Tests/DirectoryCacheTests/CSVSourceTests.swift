import FleetTestSupport
@testable import DirectoryCache
import Testing

private func parse(_ text: String) throws(DirectoryError) -> DirectorySnapshot {
    try CSVSource.parse(Array(text.utf8), source: "badges", file: "people.csv")
}

private func person(
    _ email: String, _ name: String, _ role: Role?, badge: String? = nil, active: Bool = true
) -> Person {
    Person(externalID: email, email: email, displayName: name, role: role, badge: badge, active: active)
}

@Suite struct CSVSourceTests {
    struct Valid: CustomTestStringConvertible, Sendable {
        var name: String
        var text: String
        var people: [Person]
        var testDescription: String { name }
    }

    static let valid: [Valid] = [
        Valid(name: "canonical header", text: """
            email,display_name,role,badge,active
            alice@example.com,Alice Smith,admin,0001234,true
            bob@example.com,Bob Jones,user,,false

            """, people: [
                person("alice@example.com", "Alice Smith", .admin, badge: "0001234"),
                person("bob@example.com", "Bob Jones", .user, active: false),
            ]),
        Valid(name: "order from header, extra columns ignored, header case", text: """
            Badge,Notes,ROLE,Email,Display Name
            a1b2,desk 3,UMA Manager,carol@example.com,Carol
            """, people: [person("carol@example.com", "Carol", .manager, badge: "A1B2")]),
        Valid(name: "quoted comma, doubled quotes, line break inside quotes", text: """
            email,display_name,role
            dan@example.com,"Dan ""The Man"", Jr.",user
            "eve@example.com","Eve
            Two Lines",admin
            """, people: [
                person("dan@example.com", "Dan \"The Man\", Jr.", .user),
                person("eve@example.com", "Eve\nTwo Lines", .admin),
            ]),
        Valid(name: "CRLF and BOM", text: "\u{FEFF}email,display_name,role\r\nfay@example.com,Fay,admin\r\n",
            people: [person("fay@example.com", "Fay", .admin)]),
        Valid(name: "blank and empty-field lines skipped", text: "email,display_name,role\n\n,,\nx@example.com,X,user\n   \n\n",
            people: [person("x@example.com", "X", .user)]),
        Valid(name: "active spellings, empty means true", text: """
            email,display_name,role,active
            a@example.com,A,user,true
            b@example.com,B,user,FALSE
            c@example.com,C,user,1
            d@example.com,D,user,0
            e@example.com,E,user,Yes
            f@example.com,F,user,no
            g@example.com,G,user,
            """, people: [
                person("a@example.com", "A", .user), person("b@example.com", "B", .user, active: false),
                person("c@example.com", "C", .user), person("d@example.com", "D", .user, active: false),
                person("e@example.com", "E", .user), person("f@example.com", "F", .user, active: false),
                person("g@example.com", "G", .user),
            ]),
        Valid(name: "email trimmed and lower-cased, empty name falls back to email, empty role is none", text: """
            email,display_name,role
              Grace.Hopper@Example.COM ,,hidden_user
            hal@example.com,Hal,
            """, people: [
                person("grace.hopper@example.com", "grace.hopper@example.com", .hiddenUser),
                person("hal@example.com", "Hal", nil),
            ]),
        Valid(name: "no trailing newline, quoted empty last field", text: "email,display_name,role,badge\nian@example.com,Ian,admin,\"\"",
            people: [person("ian@example.com", "Ian", .admin)]),
        // Shapes of other tools' exports (directory_samples/csv__*.csv) that carry a role.
        Valid(name: "deskbird template v1 (first/last name, status)", text: """
            email,first_name,last_name,status,role,primary_office
            alice.smith@example.com,Alice,Smith,active,user,OFFICE_ID_123
            """, people: [person("alice.smith@example.com", "Alice Smith", .user)]),
        Valid(name: "deskbird template v2 display headers", text: """
            Email,New email,First name,Last name,Status,Role,Main office name
            alice.smith@example.com,,Alice,Smith,active,user,Zurich HQ
            """, people: [person("alice.smith@example.com", "Alice Smith", .user)]),
        Valid(name: "moffi import", text: """
            Action,User email,User last name,User first name,Groups,User role,Department name,Main building,SSO ID,Employee ID,Language,Welcome email,Welcome email with password
            CREATE,alice.smith@example.com,Smith,Alice,Facilities;Managers,Manager,Operations,Paris HQ,alice.smith,100234,fr-FR,TRUE,FALSE
            """, people: [person("alice.smith@example.com", "Alice Smith", .manager)]),
    ]

    @Test(arguments: valid)
    func parsesValidFiles(_ example: Valid) throws {
        let snapshot = try parse(example.text)
        #expect(snapshot.people == example.people)
        #expect(snapshot.source == "badges")
        #expect(snapshot.origin == "people.csv")
        #expect(snapshot.isComplete)
    }

    struct Invalid: CustomTestStringConvertible, Sendable {
        var name: String
        var text: String
        var code: DirectoryError.Code
        var line: Int
        var column: String?
        /// Words the reason must contain so a person can act on it.
        var mentions: [String]
        var testDescription: String { name }
    }

    static let invalid: [Invalid] = [
        Invalid(name: "empty file", text: "", code: .header, line: 1, column: nil, mentions: ["empty"]),
        Invalid(name: "missing required columns", text: "email,badge\na@example.com,1\n",
            code: .header, line: 1, column: "display_name,role", mentions: ["display_name", "role"]),
        Invalid(name: "robin export has no role", text: """
            name,email,department,title,manager
            Alice Smith,alice.smith@example.com,Facilities,Workplace Lead,carol.boss@example.com
            """, code: .header, line: 1, column: "role", mentions: ["role"]),
        Invalid(name: "column named twice", text: "email,name,display_name,role\n",
            code: .header, line: 1, column: "display_name", mentions: ["name", "display_name"]),
        Invalid(name: "unterminated quote", text: "email,display_name,role\na@example.com,\"Alice,admin\nb@example.com,B,user\n",
            code: .syntax, line: 2, column: nil, mentions: ["never closed"]),
        Invalid(name: "text after closing quote", text: "email,display_name,role\na@example.com,\"Alice\" Smith,admin\n",
            code: .syntax, line: 2, column: nil, mentions: ["closing quote"]),
        Invalid(name: "quote inside unquoted field", text: "email,display_name,role\na@example.com,Bob \"B\" Jones,admin\n",
            code: .syntax, line: 2, column: nil, mentions: ["quote"]),
        Invalid(name: "unquoted comma shifts columns", text: "email,display_name,role\na@example.com,Smith, Bob,admin\n",
            code: .syntax, line: 2, column: nil, mentions: ["4 fields", "header has 3"]),
        Invalid(name: "invalid UTF-8", text: "email,display_name,role\na@example.com,Jos\u{FFFD},admin\n",
            code: .syntax, line: 2, column: nil, mentions: ["UTF-8"]),
        Invalid(name: "line counted after multi-line quoted field", text: """
            email,display_name,role
            a@example.com,"Two
            Lines",admin
            not-an-email,C,user
            """, code: .invalidValue, line: 4, column: "email", mentions: ["not-an-email"]),
        Invalid(name: "empty email", text: "email,display_name,role\n,Nobody,user\n",
            code: .invalidValue, line: 2, column: "email", mentions: ["empty"]),
        Invalid(name: "email without domain dot", text: "email,display_name,role\nalice@localhost,A,admin\n",
            code: .invalidValue, line: 2, column: "email", mentions: ["alice@localhost"]),
        Invalid(name: "unknown role (deskbird officeAdmin)", text: """
            email,first_name,last_name,status,role,primary_office
            alice.smith@example.com,Alice,Smith,active,user,OFFICE_ID_123
            bob.jones@example.com,Bob,Jones,inactive,officeAdmin,OFFICE_ID_123
            """, code: .invalidValue, line: 3, column: "role", mentions: ["officeAdmin", "advanced_manager"]),
        Invalid(name: "bad active value", text: "email,display_name,role,active\na@example.com,A,admin,maybe\n",
            code: .invalidValue, line: 2, column: "active", mentions: ["maybe", "yes/no"]),
        Invalid(name: "badge with a blank inside", text: "email,display_name,role,badge\na@example.com,A,admin,12 34\n",
            code: .invalidValue, line: 2, column: "badge", mentions: ["blanks"]),
        Invalid(name: "duplicate email after normalization", text: """
            email,display_name,role
            a@example.com,A,admin
            b@example.com,B,user
            A@Example.com ,A2,user
            """, code: .duplicate, line: 4, column: "email", mentions: ["a@example.com", "lines 2 and 4"]),
        Invalid(name: "duplicate badge, hex case differs", text: """
            email,display_name,role,badge
            a@example.com,A,admin,0a1f
            b@example.com,B,user,0A1F
            """, code: .duplicate, line: 3, column: "badge", mentions: ["0A1F", "lines 2 and 3"]),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidFiles(_ example: Invalid) {
        var bytes = Array(example.text.utf8)
        // U+FFFD stands in for a stray Latin-1 byte, which a Swift literal cannot hold.
        if let at = bytes.firstRange(of: Array("\u{FFFD}".utf8)) { bytes.replaceSubrange(at, with: [0xE9]) }
        #expect {
            _ = try CSVSource.parse(bytes, source: "badges", file: "people.csv")
        } throws: { error in
            guard let error = error as? DirectoryError else { return false }
            #expect(error.code == example.code)
            #expect(error.file == "people.csv")
            #expect(error.line == example.line)
            #expect(error.column == example.column)
            for word in example.mentions {
                #expect(error.description.contains(word), "\(error) should mention \(word)")
            }
            return true
        }
    }

    @Test func errorDescriptionNamesFileLineAndColumn() {
        let error = DirectoryError(.invalidValue, file: "people.csv", line: 7, column: "badge", reason: "badge is longer than 64 characters")
        #expect(error.description == "people.csv:7: column badge: badge is longer than 64 characters")
    }

    @Test func readsFileFromDiskAndNamesMissingOne() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/people.csv"
        try dir.write("people.csv", "email,display_name,role\nroot@example.com,Root,admin\n")
        let snapshot = try CSVSource(name: "badges", path: path).readSnapshot()
        #expect(snapshot.people.map(\.email) == ["root@example.com"])
        #expect(snapshot.adminRemedy == "at least one row needs role admin")

        #expect(throws: DirectoryError.self) { try CSVSource(name: "badges", path: dir.path + "/missing.csv").readSnapshot() }
        do {
            _ = try CSVSource(name: "badges", path: dir.path + "/missing.csv").readSnapshot()
        } catch {
            #expect(error.code == .unreadable)
            #expect(error.description.contains("missing.csv"))
        }
    }
}
