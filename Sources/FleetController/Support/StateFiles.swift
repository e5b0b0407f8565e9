import CFleetShims
import FleetLoop
import Glibc

/// Files the daemon keeps or reads: the state directory, the admin token, secrets.
enum StateFiles {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Creates `path` and its parents (0750) if missing.
    static func ensureDirectory(_ path: String) throws(Failure) {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") where !part.isEmpty && part != "." {
            built += "/\(part)"
            if mkdir(built, 0o750) != 0 && cfs_errno() != EEXIST {
                throw Failure(description: "cannot create state directory \(built): \(String(cString: strerror(cfs_errno())))")
            }
        }
    }

    /// The admin API token: read from `$STATE/admin.token`, or created there (0600, 32 random bytes
    /// as hex) on first start.
    static func adminToken(stateDir: String) throws(Failure) -> String {
        let path = "\(stateDir)/admin.token"
        if let existing = try? readTextFile(path) {
            let token = existing.trimmingCharacters(in: " \n\r\t")
            if token.count >= 32 { return token }
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard getrandom(&bytes, 32, 0) == 32 else { throw Failure(description: "getrandom failed") }
        let token = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw Failure(description: "cannot create \(path): \(String(cString: strerror(cfs_errno())))")
        }
        defer { close(fd) }
        fchmod(fd, 0o600)  // an existing file with a looser mode is tightened too
        let line = Array((token + "\n").utf8)
        guard write(fd, line, line.count) == line.count else { throw Failure(description: "cannot write \(path)") }
        return token
    }

    /// A secret from a file (systemd credential, password file), trailing newline removed.
    static func secret(_ path: String) throws(Failure) -> String {
        do { return try readTextFile(path).trimmingCharacters(in: "\n\r") } catch {
            throw Failure(description: "cannot read secret file \(path): \(error)")
        }
    }
}
