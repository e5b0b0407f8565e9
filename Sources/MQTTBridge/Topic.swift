/// MQTT topic rules, pure.
public enum Topic {
    /// Whether `topic` matches the subscription `filter` (`+` one level, `#` the rest, per MQTT 4.7).
    /// Topics starting with `$` are not matched by a leading wildcard.
    public static func matches(filter: String, topic: String) -> Bool {
        if topic.hasPrefix("$") && (filter.hasPrefix("+") || filter.hasPrefix("#")) { return false }
        var f = filter.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)[...]
        var t = topic.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)[...]
        while let level = f.first {
            if level.elementsEqual("#".utf8) { return true }
            guard let tl = t.first else { return false }
            if !level.elementsEqual("+".utf8) && !level.elementsEqual(tl) { return false }
            f = f.dropFirst()
            t = t.dropFirst()
        }
        return t.isEmpty
    }

    /// The levels of `topic`.
    public static func levels(_ topic: String) -> [Substring] {
        topic.split(separator: "/", omittingEmptySubsequences: false)
    }

    /// A valid topic name to publish to: non-empty, no wildcards, no NUL, at most 65,535 bytes.
    public static func isValidName(_ topic: String) -> Bool {
        !topic.isEmpty && topic.utf8.count <= 65_535 && !topic.utf8.contains { $0 == 0 || $0 == 0x23 || $0 == 0x2B }
    }
}
