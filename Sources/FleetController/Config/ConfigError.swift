import FleetLoop
/// A configuration problem, located: the file, the line, the key, and what to do about it.
struct ConfigError: Error, CustomStringConvertible {
    var file: String
    var line: Int?
    var key: String?
    var message: String

    var description: String {
        var where_ = file
        if let line { where_ += ":\(line)" }
        if let key { where_ += ": \(key)" }
        return "\(where_): \(message)"
    }
}

/// Finds the line of a key in the TOML text, so errors found after parsing (wrong type, bad value,
/// cross-field rules) still point at a line. Paths look like `broker.port`, `devices[1].kind`,
/// `directory.sources[0].role_groups.admin`.
struct KeyLocator {
    private var lines: [String: Int] = [:]

    init(text: String) {
        var current = ""
        var arrayCounts: [String: Int] = [:]
        var lineNo = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = raw.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[[") {
                let name = String(line.dropFirst(2).prefix { $0 != "]" }).trimmingCharacters(in: " \t")
                let index = arrayCounts[name, default: 0]
                arrayCounts[name] = index + 1
                current = resolve(name, arrayCounts) + "[\(index)]"
                lines[current] = lineNo
            } else if line.hasPrefix("[") {
                let name = String(line.dropFirst().prefix { $0 != "]" }).trimmingCharacters(in: " \t")
                current = resolve(name, arrayCounts)
                lines[current] = lineNo
            } else if let eq = line.firstIndex(of: "=") {
                let key = line[..<eq].trimmingCharacters(in: " \t\"'")
                lines[current.isEmpty ? key : "\(current).\(key)"] = lineNo
            }
        }
    }

    /// `directory.sources.role_groups` inside the second `[[directory.sources]]` is
    /// `directory.sources[1].role_groups`.
    private func resolve(_ name: String, _ counts: [String: Int]) -> String {
        var best = ""
        for (array, count) in counts where name.hasPrefix(array + ".") && array.count > best.count {
            best = array
            _ = count
        }
        guard !best.isEmpty, let n = counts[best] else { return name }
        return "\(best)[\(n - 1)]" + name.dropFirst(best.count)
    }

    /// The line of `path`, or of its nearest enclosing table.
    func line(_ path: String) -> Int? {
        var p = Substring(path)
        while !p.isEmpty {
            if let l = lines[String(p)] { return l }
            guard let dot = p.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            p = p[..<dot]
        }
        return nil
    }
}

/// "60s", "5m", "12h", "7d", "250ms", or a bare number of seconds.
func parseDuration(_ text: String) -> Duration? {
    let t = text.trimmingCharacters(in: " ")
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
    for (suffix, scale) in units where t.hasSuffix(suffix) {
        guard let n = Double(t.dropLast(suffix.count)), n >= 0 else { return nil }
        return .milliseconds(Int64(n * scale * 1000))
    }
    guard let n = Double(t), n >= 0 else { return nil }
    return .milliseconds(Int64(n * 1000))
}
