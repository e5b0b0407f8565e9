/// Why a JSON text was rejected, and where.
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Byte offset of the problem in the UTF-8 input (the input's length when it ended early).
    public var offset: Int
    /// What is wrong, e.g. `expected ',' or '}'`, `nesting deeper than 64`, `invalid UTF-8 in string`.
    public var reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}
