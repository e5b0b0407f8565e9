import CFleetShims
import DirectoryCache
import FleetJSON
import FleetLoop
import FleetTestSupport
import GraphStandIn
import Logging

/// Directory benchmarks (bench/directory/run.sh):
///
///   DirectoryBench sync [--users 100000] [--changes 100]
///       full sync of a synthetic tenant from the Graph stand-in (run in a child process, so the
///       numbers are the client's): wall time, peak RSS and loop lag while it applies; then a
///       delta round with `--changes` changes. One JSON line per measurement.
///   DirectoryBench serve-graph --users N --ready-file F
///       the stand-in alone; writes its port to F. `POST /_control/changes?n=N` makes N changes.
@main
enum DirectoryBench {
    static func main() throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        var args = Array(CommandLine.arguments.dropFirst())
        let command = args.isEmpty ? "sync" : args.removeFirst()
        func option(_ name: String, _ fallback: String) -> String {
            guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
            return args[i + 1]
        }
        switch command {
        case "serve-graph":
            try serve(users: Int(option("--users", "100000")) ?? 100_000, readyFile: option("--ready-file", ""))
        case "sync":
            try sync(users: Int(option("--users", "100000")) ?? 100_000, changes: Int(option("--changes", "100")) ?? 100)
        default:
            fputs("usage: DirectoryBench sync [--users N] [--changes N] | serve-graph --users N --ready-file F\n", stderr_())
            exit(2)
        }
    }

    static func serve(users: Int, readyFile: String) throws {
        let loop = try Reactor()
        let graph = try GraphStandIn(reactor: loop)
        graph.logsRequests = false
        graph.addSyntheticTenant(users: users)
        var changed = 0
        graph.control = { request in
            guard request.path == "/_control/changes" else { return nil }
            let n = Int(request.query["n"] ?? "100") ?? 100
            for i in 0..<n {
                let id = "u-\(10 + (changed + i) * 7 % max(users - 10, 1))"
                if i % 2 == 0 {
                    graph.updateUser(id, [("displayName", JSON("Renamed \(changed + i)"))])
                } else {
                    graph.updateUser(id, [("accountEnabled", false)])
                }
            }
            changed += n
            return HTTPServerResponse(status: 200, contentType: "application/json", body: "{\"changes\":\(n)}")
        }
        if !readyFile.isEmpty { try writeFile(readyFile, "\(graph.port)\n") }
        try loop.run()
    }

    static func sync(users: Int, changes: Int) throws {
        let dir = TemporaryDirectory("fc-dir-bench")
        let ready = dir.file("graph.port")
        let server = try ChildProcess("/proc/self/exe", ["serve-graph", "--users", "\(users)", "--ready-file", ready],
                                      logPath: dir.file("graph.log"))
        defer { server.signal(SIGTERM); _ = server.wait() }
        guard waitUntil(seconds: 120, { dir.exists("graph.port") && ((try? readFile(ready))?.hasSuffix("\n") ?? false) }),
              let port = Int((try readFile(ready)).trimmingCharacters(in: "\n"))
        else { throw HarnessError("the Graph stand-in did not start:\n\(server.output)") }
        let base = "http://127.0.0.1:\(port)"
        try dir.write("secret", "s3cret~value")

        let loop = try Reactor()
        let http = HTTPClient(reactor: loop)
        let source = GraphSource(settings: GraphSettings(
            name: "m365", tenantID: "contoso.onmicrosoft.com", clientID: "app-1", clientSecretFile: dir.file("secret"),
            loginURL: base, graphURL: base), http: http, reactor: loop, logger: Logger(label: "bench.graph"))
        let cache = DirectoryCache(store: try DirectoryStore(path: dir.file("directory.sqlite")), clock: loop.clock,
                                   logger: Logger(label: "bench.directory"), policy: AuthorizationPolicy())
        cache.loop = loop
        let clock = SystemClock()
        let started0 = clock.now
        // A 1 ms heartbeat: how late each beat runs is the loop lag a door's request would see.
        var lags: [Double] = []
        var beating = true
        func beat() {
            let deadline = clock.now + .milliseconds(1)
            loop.schedule(at: deadline) {
                lags.append(clock.now.since(deadline).milliseconds)
                if beating { beat() }
            }
        }
        beat()
        let rssBefore = memory().hwm
        loop.slowCallbacks.measuresCPU = true
        if getenv("BENCH_TRACE_SLOW") != nil {
            loop.onSlowCallback = { site, took in
                fputs("slow \(round3(took.milliseconds)) ms \(site) at \(round3(clock.now.since(started0).seconds)) s\n", stderr_())
            }
        }

        var full: SyncRunResult?
        let started = clock.now
        cache.sync(source: source) { full = $0 }
        _ = try loop.run(until: { full != nil }, limit: .seconds(600))
        let switched = clock.now.since(started)
        _ = try loop.run(until: { !cache.isStaging && full != nil }, limit: .seconds(60))
        beating = false
        let sorted = lags.sorted()
        func quantile(_ q: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * q))] }
        guard let full, full.status == .succeeded else { throw HarnessError("full sync: \(full?.reason ?? "no answer")") }
        let (_, hwm) = memory()
        emit([
            "bench": "directory-full-sync", "users": JSON(users), "pages": JSON(source.lastRead.pages),
            "requests": JSON(source.requestsSent), "seconds": JSON(round3(switched.seconds)),
            "peak_rss_mb": JSON(round3(Double(hwm) / 1024)), "rss_before_mb": JSON(round3(Double(rssBefore) / 1024)),
            "slices": full.run.counts["slices"] ?? .null,
            "lag_samples": JSON(sorted.count), "lag_over_5ms": JSON(sorted.filter { $0 > 5 }.count),
            "loop_lag_p50_ms": JSON(round3(quantile(0.5))), "loop_lag_p99_ms": JSON(round3(quantile(0.99))),
            "loop_lag_max_ms": JSON(round3(sorted.last ?? 0)),
            "slow_callbacks": JSON(loop.slowCallbacks.count),
            "slowest": .array(loop.slowCallbacks.slowest(6).map { entry in
                ["site": JSON(entry.site), "count": JSON(entry.count), "max_ms": JSON(round3(entry.maxMS)),
                 "cpu_of_max_ms": JSON(round3(Double(entry.cpuOfMaxNanoseconds) / 1e6)),
                 "max_cpu_ms": JSON(round3(entry.maxCPUMS)), "total_ms": JSON(round3(entry.totalMS))]
            }),
            "target": "<= 10 s, <= 150 MB, loop lag p99 <= 5 ms",
        ])

        var asked: Result<HTTPResponse, CurlError>?
        http.send(HTTPRequest(method: "POST", url: "\(base)/_control/changes?n=\(changes)")) { asked = $0 }
        _ = try loop.run(until: { asked != nil })
        var delta: SyncRunResult?
        let deltaStarted = clock.now
        cache.syncDelta(source: source) { delta = $0 }
        _ = try loop.run(until: { delta != nil }, limit: .seconds(60))
        let took = clock.now.since(deltaStarted)
        guard let delta, delta.status == .succeeded else { throw HarnessError("delta: \(delta?.reason ?? "no answer")") }
        emit([
            "bench": "directory-delta", "users": JSON(users), "changes_read": delta.run.counts["changes_read"] ?? .null,
            "rows_changed": delta.run.counts["changes"] ?? .null, "ms": JSON(round3(took.milliseconds)),
            "target": "<= 300 ms",
        ])
    }

    /// Current and peak resident set size in KiB, from /proc/self/status.
    static func memory() -> (rss: Int, hwm: Int) {
        guard let text = try? readFile("/proc/self/status") else { return (0, 0) }
        var rss = 0, hwm = 0
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let value = Int(fields[1]) else { continue }
            if line.hasPrefix("VmRSS:") { rss = value }
            if line.hasPrefix("VmHWM:") { hwm = value }
        }
        return (rss, hwm)
    }

    static func emit(_ object: JSON) { print(object.serialized()) }
    static func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}

/// stderr as a value (the C global is not concurrency-safe to name in Swift 6).
func stderr_() -> UnsafeMutablePointer<FILE> { fdopen(2, "w") }
