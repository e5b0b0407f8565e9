/// A pull reader over one JSON text: walks objects and arrays member by member and element by
/// element, reading only the values the caller asks for and skipping the rest without building
/// them.
///
/// For large documents of which a few fields matter, like a 200 KB page of 999 directory users
/// where each user needs six fields: ``JSON/parse(_:maxDepth:)`` builds every string, array and
/// object first; this reader makes only the strings asked for. It checks the text as strictly as
/// the parser (RFC 8259, UTF-8, nesting depth), including the parts it skips. The reader owns its
/// bytes and remembers where it is, so a caller may stop after any element and go on later.
///
/// ```swift
/// let keys = JSONKeys(["value", "@odata.nextLink"])
/// var reader = JSONReader(body)
/// try reader.beginObject()
/// while let key = try reader.nextMember(keys) {
///     switch key {
///     case 0:
///         try reader.beginArray()
///         while try reader.nextElement() { items.append(try reader.readValue()) }
///     case 1: next = try reader.readString()
///     default: try reader.skipValue()
///     }
/// }
/// try reader.end()
/// ```
public struct JSONReader {
    /// What the next value is, from its first byte.
    public enum Kind: Sendable, Equatable {
        case object, array, string, number, bool, null
    }

    private let bytes: [UInt8]
    private let maxDepth: Int
    /// Byte offset of the next thing to read.
    public private(set) var offset = 0
    private var depth = 0
    /// Per open container: whether an element or member was read from it yet (the next one then
    /// needs a ',' first).
    private var started: [Bool] = []

    public init(_ bytes: [UInt8], maxDepth: Int = 64) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    // MARK: - Containers

    /// Enters the object that starts here.
    public mutating func beginObject() throws(JSONError) {
        try begin(ASCII.openBrace, "expected '{'")
    }

    /// Enters the array that starts here.
    public mutating func beginArray() throws(JSONError) {
        try begin(ASCII.openBracket, "expected '['")
    }

    /// In an object entered with ``beginObject()``: the index in `keys` of the next member's key
    /// (``JSONKeys/unknown`` for a key not listed), with the reader at its value, which the caller
    /// must read or skip; nil when the object ended (the reader is then past its `}`).
    public mutating func nextMember(_ keys: JSONKeys) throws(JSONError) -> Int? {
        guard try advance(closedBy: ASCII.closeBrace, "expected ',' or '}'") else { return nil }
        return try withParser { (p: inout JSONParser) throws(JSONError) -> Int in
            guard p.current == ASCII.quote else {
                throw p.current == nil ? p.endOfInput() : JSONError(offset: p.offset, reason: "expected string key")
            }
            let scanned = try p.scanString()
            let index = p.withScanned(scanned) { keys.index(of: $0) }
            p.skipWhitespace()
            guard let colon = p.current else { throw p.endOfInput() }
            guard colon == ASCII.colon else { throw JSONError(offset: p.offset, reason: "expected ':'") }
            p.offset += 1
            p.skipWhitespace()
            return index
        }
    }

    /// In an array entered with ``beginArray()``: true with the reader at the next element, which
    /// the caller must read or skip; false when the array ended (the reader is then past its `]`).
    public mutating func nextElement() throws(JSONError) -> Bool {
        try advance(closedBy: ASCII.closeBracket, "expected ',' or ']'")
    }

    /// After the top-level value: only whitespace may follow.
    public mutating func end() throws(JSONError) {
        try withParser { (p: inout JSONParser) throws(JSONError) in
            p.skipWhitespace()
            if p.offset < p.inputCount { throw JSONError(offset: p.offset, reason: "unexpected data after value") }
        }
    }

    // MARK: - Values

    /// The kind of the value here (past any whitespace), nil at the end of the input or before a
    /// byte no value starts with.
    public func peek() -> Kind? {
        var at = offset
        while at < bytes.count, Self.isWhitespace(bytes[at]) { at += 1 }
        guard at < bytes.count else { return nil }
        switch bytes[at] {
        case ASCII.openBrace: return .object
        case ASCII.openBracket: return .array
        case ASCII.quote: return .string
        case ASCII.t, ASCII.f: return .bool
        case ASCII.n: return .null
        case ASCII.minus, ASCII.zero...ASCII.nine: return .number
        default: return nil
        }
    }

    /// The value here, whole.
    public mutating func readValue() throws(JSONError) -> JSON {
        try withParser { (p: inout JSONParser) throws(JSONError) -> JSON in
            p.skipWhitespace()
            return try p.parseValue()
        }
    }

    /// Moves past the value here, checking it but building nothing.
    public mutating func skipValue() throws(JSONError) {
        try withParser { (p: inout JSONParser) throws(JSONError) in
            p.skipWhitespace()
            try p.skipValue()
        }
    }

    /// The string here; nil (and the value skipped) when the value is not a string, the way
    /// `json["key"]?.string` reads a member.
    public mutating func readString() throws(JSONError) -> String? {
        guard peek() == .string else {
            try skipValue()
            return nil
        }
        return try withParser { (p: inout JSONParser) throws(JSONError) -> String in
            p.skipWhitespace()
            return try p.parseString()
        }
    }

    /// The boolean here; nil (and the value skipped) when it is not `true` or `false`.
    public mutating func readBool() throws(JSONError) -> Bool? {
        guard peek() == .bool else {
            try skipValue()
            return nil
        }
        try skipValue()
        // The literal just passed was `true` or `false`; its last byte says which.
        let value = bytes[offset - 1] == UInt8(ascii: "e") && bytes[offset - 2] == UInt8(ascii: "u")
        return value
    }

    /// The number here; nil (and the value skipped) when it is not a number.
    public mutating func readNumber() throws(JSONError) -> Double? {
        guard peek() == .number else {
            try skipValue()
            return nil
        }
        return try withParser { (p: inout JSONParser) throws(JSONError) -> Double in
            p.skipWhitespace()
            return try p.parseNumber()
        }
    }

    // MARK: - Internals

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == ASCII.space || byte == ASCII.tab || byte == ASCII.lineFeed || byte == ASCII.carriageReturn
    }

    private mutating func begin(_ open: UInt8, _ expected: String) throws(JSONError) {
        try withParser { (p: inout JSONParser) throws(JSONError) in
            p.skipWhitespace()
            guard let byte = p.current else { throw p.endOfInput() }
            guard byte == open else { throw JSONError(offset: p.offset, reason: expected) }
            try p.enterContainer()
            p.offset += 1
            p.skipWhitespace()
        }
        started.append(false)
    }

    /// Before the next element or member of the innermost container: true when one follows.
    private mutating func advance(closedBy close: UInt8, _ expected: String) throws(JSONError) -> Bool {
        guard let first = started.last.map({ !$0 }) else {
            throw JSONError(offset: offset, reason: "not inside an object or array")
        }
        let more = try withParser { (p: inout JSONParser) throws(JSONError) -> Bool in
            p.skipWhitespace()
            if first {
                guard let byte = p.current else { throw p.endOfInput() }
                if byte == close {
                    p.offset += 1
                    p.depth -= 1
                    return false
                }
                return true
            }
            return try p.another(closedBy: close, expected)
        }
        if more { started[started.count - 1] = true } else { started.removeLast() }
        return more
    }

    /// Runs `body` on a parser placed where this reader is, then keeps its position.
    private mutating func withParser<R>(_ body: (inout JSONParser) throws(JSONError) -> R) throws(JSONError) -> R {
        let bytes = self.bytes
        let result: Result<(R, Int, Int), JSONError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(input: buffer, maxDepth: maxDepth, offset: offset, depth: depth)
            do throws(JSONError) {
                let value = try body(&parser)
                return .success((value, parser.offset, parser.depth))
            } catch {
                return .failure(error)
            }
        }
        let (value, newOffset, newDepth) = try result.get()
        offset = newOffset
        depth = newDepth
        return value
    }
}

/// The member names a ``JSONReader`` looks for, matched on their UTF-8 bytes without making
/// strings of the keys.
public struct JSONKeys: Sendable {
    /// ``JSONReader/nextMember(_:)`` returns this for a key not in the list.
    public static let unknown = -1
    private let names: [[UInt8]]

    public init(_ names: [String]) {
        self.names = names.map { Array($0.utf8) }
    }

    func index(of key: UnsafeBufferPointer<UInt8>) -> Int {
        for (i, name) in names.enumerated() where name.count == key.count {
            if name.withUnsafeBufferPointer({ $0.elementsEqual(key) }) { return i }
        }
        return Self.unknown
    }
}
