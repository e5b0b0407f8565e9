/// A JSON value (RFC 8259) with ordered objects.
///
/// Parse with `parse(_:maxDepth:)` (bytes, the fast path for MQTT
/// payloads and HTTP bodies) or `parse(_ text:maxDepth:)`, read with the optional
/// accessors, build with literals and write with ``serialized()`` or ``bytes``:
///
/// ```swift
/// let reply: JSON = ["decision": "allow", "cache_age_s": 3]
/// let request = try JSON.parse(payload)
/// let badge = request["credential"]?["value"]?.string
/// ```
///
/// Numbers are `Double`s, as in JavaScript: integers up to ±2^53 are exact and print without a
/// fraction. Equality compares objects without regard to key order (JSON objects are unordered);
/// serialization keeps insertion order.
public enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    /// Parses one JSON text from UTF-8 bytes.
    ///
    /// Strict RFC 8259: no comments, trailing commas, leading zeros, lone surrogates, raw control
    /// characters in strings, invalid UTF-8 or bytes after the value. Whitespace around the value
    /// is allowed.
    ///
    /// - Parameters:
    ///   - bytes: the UTF-8 text. Contiguous collections (`[UInt8]`, buffers) are read in place.
    ///   - maxDepth: how many arrays and objects may nest; deeper input is rejected.
    /// - Throws: ``JSONError`` with the byte offset of the first problem.
    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = 64) throws(JSONError) -> JSON {
        let parsed = bytes.withContiguousStorageIfAvailable { buffer in
            JSONParser.parseDocument(buffer, maxDepth: maxDepth)
        }
        if let parsed { return try parsed.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer in
            JSONParser.parseDocument(buffer, maxDepth: maxDepth)
        }.get()
    }

    /// Parses one JSON text from a string; see `parse(_:maxDepth:)`.
    ///
    /// Error offsets count UTF-8 bytes of `text`, not characters.
    public static func parse(_ text: String, maxDepth: Int = 64) throws(JSONError) -> JSON {
        var text = text
        return try text.withUTF8 { buffer in
            JSONParser.parseDocument(buffer, maxDepth: maxDepth)
        }.get()
    }

    /// A number from an integer.
    public init(_ value: Int) { self = .number(Double(value)) }

    /// A number.
    public init(_ value: Double) { self = .number(value) }

    /// A string, or `null` when `value` is nil.
    public init(_ value: String?) { self = value.map(JSON.string) ?? .null }
}

// MARK: - Accessors

extension JSON {
    /// The string, or nil if this is not a string.
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number, or nil if this is not a number.
    public var double: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The number as an `Int`, or nil if this is not a number, has a fraction or is out of range.
    public var int: Int? {
        if case .number(let value) = self { return Int(exactly: value) }
        return nil
    }

    /// The boolean, or nil if this is not `true` or `false`.
    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, or nil if this is not an array.
    public var array: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members, or nil if this is not an object.
    public var object: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The member named `key`, or nil if this is not an object or has no such member.
    ///
    /// Chains through optional chaining: `json["user"]?["email"]?.string`.
    public subscript(key: String) -> JSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The element at `index`, or nil if this is not an array or the index is out of bounds.
    public subscript(index: Int) -> JSON? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }
}

// MARK: - Literals

extension JSON: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSON: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
}

extension JSON: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .number(value) }
}

extension JSON: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSON: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

extension JSON: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
}

extension JSON: ExpressibleByDictionaryLiteral {
    /// An object whose keys keep the literal's order; a repeated key keeps its first position
    /// and its last value.
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(JSONObject(elements))
    }
}

extension JSON: CustomStringConvertible {
    /// The compact serialization, so values read well in logs and test failures.
    public var description: String { serialized() }
}
