/// A value bound to a statement or read from a row, one case per SQLite storage class.
///
/// Literals and the optional initializers make arguments short:
/// `try db.execute("INSERT INTO t VALUES (?, ?, ?)", ["a", 3, SQLValue(user.badge)])` where a nil
/// badge binds `NULL`. Booleans are stored as the integers 0 and 1, as SQLite itself does.
public enum SQLValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// `.text`, or `.null` for nil.
    public init(_ v: String?) { self = v.map(SQLValue.text) ?? .null }

    /// `.integer`, or `.null` for nil.
    public init(_ v: Int?) { self = v.map { .integer(Int64($0)) } ?? .null }

    /// `.integer`, or `.null` for nil.
    public init(_ v: Int64?) { self = v.map(SQLValue.integer) ?? .null }

    /// `.real`, or `.null` for nil.
    public init(_ v: Double?) { self = v.map(SQLValue.real) ?? .null }

    /// `.integer(1)` or `.integer(0)`, or `.null` for nil.
    public init(_ v: Bool?) { self = v.map { .integer($0 ? 1 : 0) } ?? .null }

    /// `.blob`, or `.null` for nil.
    public init(_ v: [UInt8]?) { self = v.map(SQLValue.blob) ?? .null }

    /// Whether this is SQL `NULL`.
    public var isNull: Bool { self == .null }
}

extension SQLValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
}

extension SQLValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .integer(value) }
}

extension SQLValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .real(value) }
}

extension SQLValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .integer(value ? 1 : 0) }
}

extension SQLValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

/// One result row, copied out of SQLite so it stays valid after the statement moves on.
///
/// The typed accessors return nil for `NULL` and for values that do not convert without loss:
/// ``int(_:)`` reads integers and integral reals, ``double(_:)`` reads reals and integers
/// (SQLite returns integers from `SUM`, `MAX`, … over integral data), ``bool(_:)`` reads integers.
public struct Row: Sendable {
    /// The columns in `SELECT` order.
    public let values: [SQLValue]

    init(values: [SQLValue]) { self.values = values }

    /// The number of columns.
    public var count: Int { values.count }

    /// The value of the zero-based `column`; the index must be within ``count``.
    public subscript(_ column: Int) -> SQLValue {
        precondition(values.indices.contains(column), "column \(column) out of range 0..<\(values.count)")
        return values[column]
    }

    public func int64(_ column: Int) -> Int64? {
        switch self[column] {
        case .integer(let value): value
        case .real(let value): Int64(exactly: value)
        default: nil
        }
    }

    public func int(_ column: Int) -> Int? { int64(column).flatMap { Int(exactly: $0) } }

    public func double(_ column: Int) -> Double? {
        switch self[column] {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }

    public func text(_ column: Int) -> String? {
        if case .text(let value) = self[column] { return value }
        return nil
    }

    /// `false` for 0, `true` for any other integer.
    public func bool(_ column: Int) -> Bool? {
        if case .integer(let value) = self[column] { return value != 0 }
        return nil
    }

    public func blob(_ column: Int) -> [UInt8]? {
        if case .blob(let value) = self[column] { return value }
        return nil
    }
}
