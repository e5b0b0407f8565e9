import CFleetShims
import FleetLoop

/// The built `fleet-controller` binary running against a harness broker, with its config, CSV and
/// state in a temp dir. Tests talk to it the way operators and panels do: HTTP, MQTT, signals.
public final class DaemonHarness {
    public let broker: BrokerHarness
    public let dir: String
    public let httpPort: Int32
    public let configPath: String
    public private(set) var process: ChildProcess?
    public private(set) var token = ""

    /// The fleet-controller binary beside the test bundle (both are products of the same build).
    public static var binary: String {
        let bundle = CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0]
        guard let slash = bundle.lastIndex(of: "/") else { return ".build/debug/fleet-controller" }
        return "\(bundle[..<slash])/fleet-controller"
    }

    /// `extraConfig` is appended to a config with the broker, HTTP on a free port, state in the temp
    /// dir and a CSV source "badges" reading `people.csv` (written from `people`).
    public init(people: String, extraConfig: String = "", broker: BrokerHarness? = nil) throws {
        self.broker = try broker ?? BrokerHarness()
        dir = makeTempDir("fc-daemon")
        httpPort = try freeTCPPort()
        configPath = "\(dir)/config.toml"
        try writeFile("\(dir)/people.csv", people)
        try writeFile(configPath, """
            site = "hq"
            [state]
            dir = "\(dir)/state"
            [broker]
            host = "127.0.0.1"
            port = \(self.broker.port)
            [http]
            listen = "127.0.0.1:\(httpPort)"
            [[directory.sources]]
            name = "badges"
            kind = "csv"
            path = "\(dir)/people.csv"
            interval = "1h"
            \(extraConfig)

            """)
    }

    deinit {
        stop()
        removeTree(dir)
    }

    /// Starts the daemon and waits until /healthz answers 200 (or, with `requireHealthy` false, until
    /// it answers at all).
    public func start(environment extra: [String: String] = [:], requireHealthy: Bool = true) throws {
        var env = currentEnvironment()
        env.merge(extra) { $1 }
        process = try ChildProcess(Self.binary, ["run", "--config", configPath], logPath: "\(dir)/daemon.log",
                                   environment: env)
        let up = waitUntil(seconds: 20) {
            guard self.process?.isRunning == true, canConnect(port: self.httpPort) else { return false }
            guard let status = try? self.get("/healthz").status else { return false }
            return !requireHealthy || status == 200
        }
        guard up else { throw HarnessError("daemon did not become healthy:\n\(log)") }
        token = try readFile("\(dir)/state/admin.token").trimmingCharacters(in: " \n")
    }

    /// SIGTERM, then waits for the exit code.
    @discardableResult
    public func stop() -> Int32? {
        guard let p = process else { return nil }
        p.signal(SIGTERM)
        let code = p.wait()
        process = nil
        return code
    }

    public func signal(_ s: Int32) { process?.signal(s) }
    public var log: String { (try? readFile("\(dir)/daemon.log")) ?? "" }
    public var isRunning: Bool { process?.isRunning ?? false }
    public var pid: pid_t? { process?.pid }

    /// A blocking HTTP call on a private reactor.
    public func request(_ method: String, _ path: String, body: String? = nil, token: String? = nil) throws -> HTTPResponse {
        let loop = try Reactor()
        let client = HTTPClient(reactor: loop)
        var headers: [(String, String)] = []
        if let t = token ?? (self.token.isEmpty ? nil : self.token) { headers.append(("Authorization", "Bearer \(t)")) }
        var result: Result<HTTPResponse, CurlError>?
        client.send(HTTPRequest(method: method, url: "http://127.0.0.1:\(httpPort)\(path)", headers: headers,
                                body: Array((body ?? "").utf8), timeout: .seconds(10))) { result = $0 }
        _ = try loop.run(until: { result != nil }, limit: .seconds(15))
        guard let result else { throw HarnessError("no HTTP answer for \(path)") }
        return try result.get()
    }

    public func get(_ path: String) throws -> HTTPResponse { try request("GET", path) }

    /// Runs mosquitto_rr as a panel would: MQTT v5 request with a response topic.
    public func mqttRequest(device: String, op: String, body: String, version: Int = 5) throws -> String {
        let r = try ChildProcess.run("/usr/bin/mosquitto_rr", [
            "-h", "127.0.0.1", "-p", "\(broker.port)", "-V", "\(version == 5 ? "5" : "311")",
            "-t", "fc/v1/dev/\(device)/up/\(op)", "-e", "fc/v1/dev/\(device)/down/rpc", "-m", body, "-W", "5",
        ], in: dir)
        guard r.status == 0 else { throw HarnessError("mosquitto_rr exited \(r.status): \(r.output)") }
        return r.output.trimmingCharacters(in: "\n")
    }

    public func publish(topic: String, payload: String) throws {
        let r = try ChildProcess.run("/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1",
                                                                "-t", topic, "-m", payload], in: dir)
        guard r.status == 0 else { throw HarnessError("mosquitto_pub exited \(r.status): \(r.output)") }
    }

    /// Threads of the daemon process, from /proc.
    public var threadCount: Int? {
        guard let pid, let s = try? readFile("/proc/\(pid)/status") else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix("Threads:") {
            return Int(line.split(separator: "\t").last?.trimmingCharacters(in: " ") ?? "")
        }
        return nil
    }
}
