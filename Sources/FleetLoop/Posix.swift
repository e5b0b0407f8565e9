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

/// Starts `path` with stdin from /dev/null and stdout+stderr appended to `logPath`. The child starts
/// with an empty signal mask and default handlers: the reactor blocks SIGTERM and friends in this
/// process, and a child that inherited that mask could not be stopped.
package func spawnProcess(_ path: String, _ arguments: [String], logPath: String, logMode: mode_t = 0o644,
                          environment: [String: String]? = nil) throws(SystemError) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, logMode)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attr, &empty)
    var defaults = sigset_t()
    sigfillset(&defaults)
    posix_spawnattr_setsigdefault(&attr, &defaults)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var env = environment ?? processEnvironment()
    env["LC_ALL"] = env["LC_ALL"] ?? "C"
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { envp.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
    guard rc == 0 else { throw SystemError(errno: rc, operation: "spawn \(path)") }
    return pid
}

/// Waits for `pid` to exit; its exit status, or 128 + the signal that killed it.
package func waitForExit(_ pid: pid_t, options: Int32 = 0) -> Int32? {
    var status: Int32 = 0
    var rc: pid_t
    repeat { rc = waitpid(pid, &status, options) } while rc < 0 && cfs_errno() == EINTR
    guard rc == pid else { return nil }
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}
