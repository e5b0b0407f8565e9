import TOMLKit

/// Typed, located access to one TOML table. Every failure becomes a ConfigError naming the file,
/// the line and the full key path.
struct TableReader {
    let table: TOMLTable
    let path: String
    let file: String
    let locator: KeyLocator

    func full(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String?, _ message: String) -> ConfigError {
        let p = key.map(full) ?? path
        return ConfigError(file: file, line: locator.line(p), key: p.isEmpty ? nil : p, message: message)
    }

    /// An error at an absolute key path (for rules checked after parsing), located by the text.
    func error(at path: String, _ message: String) -> ConfigError {
        ConfigError(file: file, line: locator.line(path), key: path, message: message)
    }

    /// Unknown keys are errors: a typo ("intervall") silently ignored would leave a default in force.
    func allowOnly(_ known: Set<String>) throws(ConfigError) {
        for key in table.keys where !known.contains(key) {
            throw error(key, "unknown key; expected one of: \(known.sorted().joined(separator: ", "))")
        }
    }

    func has(_ key: String) -> Bool { table.contains(key: key) }

    func string(_ key: String) throws(ConfigError) -> String? {
        guard let v = table[key] else { return nil }
        guard let s = v.string else { throw error(key, "expected a string, found \(v.type)") }
        return s
    }

    func string(_ key: String, default d: String) throws(ConfigError) -> String { try string(key) ?? d }

    func requiredString(_ key: String) throws(ConfigError) -> String {
        guard let s = try string(key), !s.isEmpty else { throw error(key, "required, and must not be empty") }
        return s
    }

    func int(_ key: String, default d: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let v = table[key] else { return d }
        guard let i = v.int else { throw error(key, "expected an integer, found \(v.type)") }
        guard range.contains(i) else { throw error(key, "\(i) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return i
    }

    func double(_ key: String, default d: Double, range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard let v = table[key] else { return d }
        guard let x = v.double ?? v.int.map(Double.init) else { throw error(key, "expected a number, found \(v.type)") }
        guard range.contains(x) else { throw error(key, "\(x) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return x
    }

    func bool(_ key: String, default d: Bool) throws(ConfigError) -> Bool {
        guard let v = table[key] else { return d }
        guard let b = v.bool else { throw error(key, "expected true or false, found \(v.type)") }
        return b
    }

    func duration(_ key: String, default d: Duration) throws(ConfigError) -> Duration {
        guard let v = table[key] else { return d }
        if let i = v.int, i >= 0 { return .seconds(i) }
        guard let s = v.string, let parsed = parseDuration(s) else {
            throw error(key, "expected a duration like \"60s\", \"5m\", \"7d\"")
        }
        return parsed
    }

    func stringArray(_ key: String) throws(ConfigError) -> [String]? {
        guard let v = table[key] else { return nil }
        guard let a = v.array else { throw error(key, "expected an array of strings") }
        var out: [String] = []
        for item in a {
            guard let s = item.string else { throw error(key, "expected an array of strings") }
            out.append(s)
        }
        return out
    }

    func subtable(_ key: String) throws(ConfigError) -> TableReader? {
        guard let v = table[key] else { return nil }
        guard let t = v.table else { throw error(key, "expected a table [\(full(key))]") }
        return TableReader(table: t, path: full(key), file: file, locator: locator)
    }

    /// `[[key]]` entries.
    func tables(_ key: String) throws(ConfigError) -> [TableReader] {
        guard let v = table[key] else { return [] }
        guard let a = v.array else { throw error(key, "expected an array of tables [[\(full(key))]]") }
        var out: [TableReader] = []
        for (i, item) in a.enumerated() {
            guard let t = item.table else { throw error(key, "expected an array of tables [[\(full(key))]]") }
            out.append(TableReader(table: t, path: "\(full(key))[\(i)]", file: file, locator: locator))
        }
        return out
    }

    /// A table of string values (role → group name).
    func stringMap(_ key: String) throws(ConfigError) -> [String: String] {
        guard let t = try subtable(key) else { return [:] }
        var out: [String: String] = [:]
        for k in t.table.keys { out[k] = try t.requiredString(k) }
        return out
    }
}
