import CFleetShims

/// A private mosquitto for one test: its own config, data and Unix socket in a temp dir, plus a TCP
/// listener on a free loopback port (never 1883). Queue limits are raised and Nagle is off, as in the
/// config the product ships.
public final class BrokerHarness {
    public let dir: String
    public let socketPath: String
    public let port: Int32
    public let configPath: String
    private var process: ChildProcess?
    public static let binary = "/usr/sbin/mosquitto"
    /// Dynsec mode only: the accounts `fleet-controller broker init` created.
    public private(set) var accounts: DynsecAccounts?

    /// Usernames and passwords of a dynsec broker, with the files holding the passwords.
    public struct DynsecAccounts: Sendable {
        public var admin: (username: String, password: String, file: String)
        public var controller: (username: String, password: String, file: String)
        public var bootstrap: (username: String, password: String, file: String)
    }

    /// Dynsec mode: the broker exactly as `fleet-controller broker init` sets it up (plugin, default
    /// deny, admin, controller and bootstrap accounts; no anonymous access), plus a Unix socket.
    /// `controllerBinary` is the built fleet-controller (`DaemonHarness.binary`).
    public init(dynsecWith controllerBinary: String, extraConfig: String = "") throws {
        dir = makeTempDir("fc-broker")
        socketPath = "\(dir)/mosquitto.sock"
        port = try freeTCPPort()
        configPath = "\(dir)/mosquitto.conf"
        let r = try ChildProcess.run(controllerBinary, ["broker", "init", "--dir", dir, "--port", "\(port)",
                                                        "--socket", socketPath], in: "/tmp")
        guard r.status == 0 else { throw HarnessError("broker init exited \(r.status):\n\(r.output)") }
        if !extraConfig.isEmpty { try writeFile(configPath, try readFile(configPath) + extraConfig + "\n") }
        func account(_ user: String, _ name: String) throws -> (String, String, String) {
            let file = "\(dir)/\(name).secret"
            return (user, try readFile(file).trimmingCharacters(in: "\n"), file)
        }
        accounts = DynsecAccounts(admin: try account("fc-admin", "admin"), controller: try account("fc-controller", "controller"),
                                  bootstrap: try account("fc-pairing", "bootstrap"))
        try start()
    }

    public init(extraConfig: String = "", persistence: Bool = true) throws {
        dir = makeTempDir("fc-broker")
        socketPath = "\(dir)/mosquitto.sock"
        port = try freeTCPPort()
        configPath = "\(dir)/mosquitto.conf"
        // As root, mosquitto drops to user "mosquitto" before binding, and could then not create its
        // socket in our private temp dir; keep it as the user running the tests.
        let user = geteuid() == 0 ? "user root" : ""
        try writeFile(configPath, """
            \(user)
            per_listener_settings false
            allow_anonymous true
            listener 0 \(socketPath)
            listener \(port) 127.0.0.1
            set_tcp_nodelay true
            max_queued_messages 100000
            max_inflight_messages 0
            persistence \(persistence)
            persistence_location \(dir)/
            autosave_interval 1
            log_dest stderr
            log_type error
            log_type warning
            log_type notice
            \(extraConfig)

            """)
        try start()
    }

    deinit {
        stop()
        removeTree(dir)
    }

    /// Starts the broker and waits until its TCP listener accepts connections.
    public func start() throws {
        precondition(process == nil, "broker already running")
        process = try ChildProcess(Self.binary, ["-c", configPath], logPath: "\(dir)/mosquitto.log")
        let ok = waitUntil(seconds: 10) { canConnect(port: self.port) && access(self.socketPath, F_OK) == 0 }
        if !ok { throw HarnessError("mosquitto did not start:\n\(process?.output ?? "")") }
    }

    /// Stops the broker cleanly (it saves its persistence file).
    public func stop() {
        process?.signal(SIGTERM)
        process?.wait()
        process = nil
    }

    /// Kills the broker without letting it save or say goodbye.
    public func kill() {
        process?.signal(SIGKILL)
        process?.wait()
        process = nil
    }

    public var isRunning: Bool { process?.isRunning ?? false }
    public var log: String { (try? readFile("\(dir)/mosquitto.log")) ?? "" }
}

/// Asks the kernel for a free loopback port. Another process could take it before the broker binds,
/// which `start()` would report; on a test machine that does not happen in practice.
public func freeTCPPort() throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
            bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
        }
    }
    guard bound else { throw HarnessError("no free port: \(String(cString: strerror(cfs_errno())))") }
    return Int32(UInt16(bigEndian: addr.sin_port))
}

public func canConnect(port: Int32) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// Polls `condition` until it holds or `seconds` pass: for waiting on another process to become
/// ready, where there is no event to wait on. Returns whether it held.
public func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    let end = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 + seconds
    while true {
        if condition() { return true }
        clock_gettime(CLOCK_MONOTONIC, &ts)
        if Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 > end { return false }
        // Yield the CPU to the process we are waiting for; poll() with no fds is a bounded nap.
        _ = poll(nil, 0, 10)
    }
}
