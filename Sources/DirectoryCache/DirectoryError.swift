/// The one error of the directory module: what went wrong, where, and what a person can do.
///
/// Source errors point at the input (`file`, `line`, `column`); store errors carry the SQLite
/// result code and the operation that failed. `description` is the sentence recorded as a failed
/// sync run's reason, so it names the place first ("people.csv:7: column badge: …").
public struct DirectoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Extensible kind; compare with the static members.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The file could not be opened or read.
        public static let unreadable = Code(rawValue: "unreadable")
        /// Broken CSV syntax (stray quote, unterminated quoted field, invalid UTF-8).
        public static let syntax = Code(rawValue: "syntax")
        /// The header lacks required columns, or names one twice.
        public static let header = Code(rawValue: "header")
        /// A field has a value the column does not accept.
        public static let invalidValue = Code(rawValue: "invalid_value")
        /// Two rows claim the same email or badge.
        public static let duplicate = Code(rawValue: "duplicate")
        /// SQLite refused an operation on `directory.sqlite`.
        public static let store = Code(rawValue: "store")
        /// The source could not be reached (DNS, connect, TLS, timeout).
        public static let network = Code(rawValue: "network")
        /// The source refused our credentials or the app lacks a permission.
        public static let credentials = Code(rawValue: "credentials")
        /// The source kept throttling until the run gave up.
        public static let throttled = Code(rawValue: "throttled")
        /// The source answered with an error or a body we cannot read.
        public static let upstream = Code(rawValue: "upstream")
        /// A configured role group is missing, ambiguous or unusable.
        public static let roleGroup = Code(rawValue: "role_group")
        /// The thing asked for does not exist.
        public static let notFound = Code(rawValue: "not_found")
        /// The request does not fit the current state (a run that is not held …).
        public static let conflict = Code(rawValue: "conflict")
        /// The source's change token expired: read everything again.
        public static let resyncRequired = Code(rawValue: "resync_required")

        public var description: String { rawValue }
    }

    public var code: Code
    /// The input file as the operator named it, when the error is about a file.
    public var file: String?
    /// 1-based physical line in `file` where the offending record starts.
    public var line: Int?
    /// Header name of the offending column.
    public var column: String?
    /// What is wrong, in words an operator can act on.
    public var reason: String
    /// The store operation that failed (`apply`, `appendAudit` …), for store errors.
    public var operation: String?
    /// SQLite's result code, for store errors.
    public var resultCode: Int32?
    /// The HTTP status a network source answered with, for upstream errors.
    public var httpStatus: Int?

    public init(
        _ code: Code, file: String? = nil, line: Int? = nil, column: String? = nil, reason: String,
        operation: String? = nil, resultCode: Int32? = nil
    ) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.reason = reason
        self.operation = operation
        self.resultCode = resultCode
    }

    /// An error of a network source: `operation` names the request ("GET groups").
    public init(_ code: Code, operation: String, reason: String, httpStatus: Int? = nil) {
        self.init(code, reason: reason, operation: operation)
        self.httpStatus = httpStatus
    }

    public var description: String {
        var place = ""
        if let file { place = file }
        if let line { place += place.isEmpty ? "line \(line)" : ":\(line)" }
        if let operation { place += place.isEmpty ? operation : " (\(operation))" }
        var text = place.isEmpty ? "" : place + ": "
        if let column { text += "column \(column): " }
        text += reason
        if let httpStatus { text += " [http \(httpStatus)]" }
        if let resultCode { text += " [sqlite \(resultCode)]" }
        return text
    }
}
