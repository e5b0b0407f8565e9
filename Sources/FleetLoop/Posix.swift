import CFleetShims

// Small POSIX helpers shared by the executables and the test support in this package (package
// access: not part of FleetLoop's public API).

/// The whole file at `path`.
package func readFileBytes(_ path: String) throws(SystemError) -> [UInt8] {
    guard let f = fopen(path, "rb") else { throw SystemError(errno: cfs_errno(), operation: "open \(path)") }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n > 0 { bytes += buf[0..<n] }
        if n < buf.count {
            if ferror(f) != 0 { throw SystemError(errno: cfs_errno(), operation: "read \(path)") }
            return bytes
        }
    }
}

/// The whole file at `path` as UTF-8 text (invalid sequences replaced).
package func readTextFile(_ path: String) throws(SystemError) -> String {
    String(decoding: try readFileBytes(path), as: UTF8.self)
}

/// This process's environment.
package func processEnvironment() -> [String: String] {
    var env: [String: String] = [:]
    guard var p = cfs_environ() else { return env }
    while let entry = p.pointee {
        let s = String(cString: entry)
        if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
        p += 1
    }
    return env
}

extension StringProtocol {
    /// The text without leading and trailing characters from `set`.
    package func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
