/// The members of a JSON object, in insertion order.
///
/// Setting an existing key replaces its value in place; setting `nil` removes it. Parsing applies
/// the same rule to duplicate keys: the last value wins, at the first key's position.
///
/// Equality ignores order: two objects are equal when they have the same keys with equal values.
public struct JSONObject: Sendable {
    /// The keys, in insertion order.
    public private(set) var keys: [String]
    /// The values, parallel to ``keys``.
    public private(set) var values: [JSON]
    /// Key → position, built only for larger objects: most payloads have a handful of keys, where
    /// a linear scan beats hashing and saves a dictionary per object.
    private var positions: [String: Int]?

    private static let linearSearchLimit = 12

    /// An empty object.
    public init() {
        keys = []
        values = []
    }

    /// An object from pairs in order; a repeated key keeps its first position and its last value.
    public init(_ pairs: [(String, JSON)]) {
        self.init()
        keys.reserveCapacity(pairs.count)
        values.reserveCapacity(pairs.count)
        for (key, value) in pairs { set(key, value) }
    }

    /// The number of members.
    public var count: Int { keys.count }

    /// Whether there are no members.
    public var isEmpty: Bool { keys.isEmpty }

    /// The value for `key`; assigning `nil` removes the member.
    public subscript(key: String) -> JSON? {
        get { position(of: key).map { values[$0] } }
        set {
            if let newValue { set(key, newValue) } else { remove(key) }
        }
    }

    func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        return keys.firstIndex(of: key)
    }

    /// Appends or replaces in place (the parser's duplicate-key rule).
    mutating func set(_ key: String, _ value: JSON) {
        if let existing = position(of: key) {
            values[existing] = value
            return
        }
        keys.append(key)
        values.append(value)
        if positions != nil {
            positions![key] = keys.count - 1
        } else if keys.count > Self.linearSearchLimit {
            rebuildPositions()
        }
    }

    private mutating func remove(_ key: String) {
        guard let existing = position(of: key) else { return }
        keys.remove(at: existing)
        values.remove(at: existing)
        if keys.count > Self.linearSearchLimit {
            rebuildPositions()
        } else {
            positions = nil
        }
    }

    private mutating func rebuildPositions() {
        var map = [String: Int](minimumCapacity: keys.count)
        for (position, key) in keys.enumerated() { map[key] = position }
        positions = map
    }
}

extension JSONObject: Equatable {
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        // Same order is the common case; compare pairwise before falling back to lookups.
        if lhs.keys == rhs.keys { return lhs.values == rhs.values }
        for (key, value) in lhs where rhs[key] != value { return false }
        return true
    }
}

extension JSONObject: Sequence {
    /// Yields `(key, value)` pairs in insertion order.
    public struct Iterator: IteratorProtocol {
        private let object: JSONObject
        private var position = 0

        init(_ object: JSONObject) { self.object = object }

        public mutating func next() -> (key: String, value: JSON)? {
            guard position < object.keys.count else { return nil }
            defer { position += 1 }
            return (object.keys[position], object.values[position])
        }
    }

    public func makeIterator() -> Iterator { Iterator(self) }

    public var underestimatedCount: Int { count }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self.init(elements)
    }
}
