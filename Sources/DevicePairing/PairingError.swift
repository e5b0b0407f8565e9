/// Everything that can go wrong in pairing and device management, with the operation it happened in
/// and, for a bad hello, the offending field.
public struct PairingError: Error, Equatable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let invalidHello = Code(rawValue: "invalid_hello")
        public static let malformedCode = Code(rawValue: "malformed_code")
        public static let wrongCode = Code(rawValue: "wrong_code")
        public static let expiredCode = Code(rawValue: "expired_code")
        public static let coolingDown = Code(rawValue: "cooling_down")
        public static let inProgress = Code(rawValue: "in_progress")
        public static let notFound = Code(rawValue: "not_found")
        public static let conflict = Code(rawValue: "conflict")
        public static let invalidArgument = Code(rawValue: "invalid_argument")
        /// The broker answered a dynsec command with an error.
        public static let brokerRefused = Code(rawValue: "broker_refused")
        /// The dynsec admin channel is down or did not answer in time: the outcome is unknown.
        public static let brokerUnavailable = Code(rawValue: "broker_unavailable")
        public static let notConfigured = Code(rawValue: "not_configured")
        public static let store = Code(rawValue: "store")
    }

    public var code: Code
    public var operation: String
    public var message: String
    /// The hello field (or request field) that was wrong.
    public var field: String?
    /// For `coolingDown`: seconds until codes are accepted again. For `wrongCode`: attempts left.
    public var retryAfter: Double?
    public var attemptsLeft: Int?

    public init(_ code: Code, _ operation: String, _ message: String, field: String? = nil) {
        self.code = code
        self.operation = operation
        self.message = message
        self.field = field
    }

    public var description: String {
        "\(operation): \(message)" + (field.map { " (field \($0))" } ?? "")
    }
}
