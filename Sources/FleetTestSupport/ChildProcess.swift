import CFleetShims
import FleetLoop
import Glibc

/// A child process for tests: the broker, the daemon binary, mosquitto_rr. Output goes to a file so a
/// failing test can show it. The child starts with an empty signal mask: the reactor blocks SIGTERM
/// and friends in the test process, and a child that inherited that mask could not be stopped.
public final class ChildProcess {
    public let pid: pid_t
    public let logPath: String
    private var exited: Int32?

    public init(_ path: String, _ arguments: [String], logPath: String, environment: [String: String]? = nil) throws {
        self.logPath = logPath
        pid = try spawnProcess(path, arguments, logPath: logPath, environment: environment)
    }

    deinit { if exited == nil { kill(pid, SIGKILL); _ = wait() } }

    public func signal(_ sig: Int32) { if exited == nil { kill(pid, sig) } }

    /// Blocks until the child exits; returns its exit status (128+signal when killed).
    @discardableResult
    public func wait() -> Int32 {
        if let exited { return exited }
        let code = waitForExit(pid) ?? -1
        exited = code
        return code
    }

    /// Whether the child has exited, without blocking.
    public var isRunning: Bool {
        if exited != nil { return false }
        if let code = waitForExit(pid, options: WNOHANG) {
            exited = code
            return false
        }
        return true
    }

    public var output: String { (try? readTextFile(logPath)) ?? "" }

    /// Runs a command to completion and returns its exit code and output.
    public static func run(_ path: String, _ arguments: [String], in dir: String,
                           environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
        let log = "\(dir)/run-\(UInt32.random(in: 0...UInt32.max)).log"
        let child = try ChildProcess(path, arguments, logPath: log, environment: environment)
        let status = child.wait()
        return (status, child.output)
    }
}

public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

public func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
    try writeFile(path, bytes: Array(text.utf8), mode: mode)
}

public func writeFile(_ path: String, bytes: [UInt8], mode: mode_t = 0o644) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
    guard fd >= 0 else { throw HarnessError("create \(path): \(String(cString: strerror(cfs_errno())))") }
    defer { close(fd) }
    var off = 0
    while off < bytes.count {
        let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw HarnessError("write \(path)") }
        off += n
    }
}

/// A fresh directory under /tmp, removed by `remove()`.
public func makeTempDir(_ prefix: String = "fc-test") -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(p != nil, "mkdtemp failed")
    return String(cString: p!)
}

public func removeTree(_ path: String) {
    guard path.hasPrefix("/tmp/") else { return }
    _ = try? ChildProcess("/bin/rm", ["-rf", path], logPath: "/dev/null").wait()
}

/// The whole file as text.
public func readFile(_ path: String) throws -> String { try readTextFile(path) }

public func currentEnvironment() -> [String: String] { processEnvironment() }
