import FleetJSON
import FleetLoop
import Glibc
import Logging
import MQTTBridge

/// `ingest-bench`: the two measuring halves of the ingest benchmark (bench/ingest/run.sh).
///
/// - `subscribe PORT TOPIC N`: a plain subscriber (libmosquitto on one epoll loop, counting only)
///   that reports the broker's raw delivery rate, first to last message.
/// - `watch PORT PID TOKEN N`: polls a running controller's /metrics and /proc every 50 ms until it
///   has taken N uplinks and stored their readings; reports uplinks and readings stored per
///   second, loop lag p99 and max, RSS over the run (peak, at 10 %, 50 %, 100 %), and the
///   controller's CPU time per uplink.
@main
enum IngestBench {
    static func main() throws {
        let args = Array(CommandLine.arguments.dropFirst())
        switch args.first {
        case "subscribe" where args.count == 4:
            try subscribe(port: Int32(args[1]) ?? 0, topic: args[2], expected: Int(args[3]) ?? 0)
        case "watch" where args.count == 5:
            try watch(httpPort: args[1], pid: args[2], token: args[3], expected: Int(args[4]) ?? 0)
        default:
            print("usage: ingest-bench subscribe PORT TOPIC N | watch HTTP_PORT PID TOKEN N")
            exit(2)
        }
    }

    static func subscribe(port: Int32, topic: String, expected: Int) throws {
        let reactor = try Reactor()
        var config = MQTTConfig(clientID: "ingest-bench-sub-\(getpid())")
        config.host = "127.0.0.1"
        config.port = port
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let client = MQTTClient(reactor: reactor, config: config, logger: logger)
        var received = 0
        var first = 0.0
        var last = 0.0
        client.subscribe(topic, qos: 1) { _ in
            let now = reactor.clock.unixTime
            if received == 0 { first = now }
            received += 1
            last = now
        }
        client.start()
        _ = try reactor.run(until: { client.isReady }, limit: .seconds(10))
        // Ready: the run script starts the publisher once this file exists.
        print("ready")
        fflush(nil)
        var idleSince = reactor.clock.unixTime
        var seen = 0
        _ = try reactor.run(until: {
            if received != seen { seen = received; idleSince = reactor.clock.unixTime }
            return received >= expected || reactor.clock.unixTime - idleSince > 10
        }, limit: .seconds(3600))
        let seconds = max(last - first, 1e-9)
        print(#"{"mode":"raw-subscriber","received":\#(received),"expected":\#(expected),"seconds":\#(seconds),"rate":\#(Int(Double(received) / seconds))}"#)
        client.stop()
    }

    static func watch(httpPort: String, pid: String, token: String, expected: Int) throws {
        let reactor = try Reactor()
        let http = HTTPClient(reactor: reactor)
        var metrics: [String: Double] = [:]
        func poll() throws {
            var done = false
            http.send(HTTPRequest(url: "http://127.0.0.1:\(httpPort)/metrics", headers: [("Authorization", "Bearer \(token)")],
                                  timeout: .seconds(5))) { result in
                if case .success(let response) = result { metrics = parse(response.text) }
                done = true
            }
            _ = try reactor.run(until: { done }, limit: .seconds(6))
        }
        try poll()
        let cpu0 = cpuSeconds(pid: pid)
        let received0 = metrics["fleet_ingest_messages_total{outcome=\"received\"}"] ?? 0
        let stored0 = metrics["fleet_ingest_readings_stored_total"] ?? 0
        var start: Double?
        var rss: [(progress: Double, kb: Int)] = []
        var lastStored = stored0
        var lastChange = reactor.clock.unixTime
        var end = reactor.clock.unixTime
        var taken = 0.0
        let began = reactor.clock.unixTime
        while true {
            let now = reactor.clock.unixTime
            try poll()
            taken = (metrics["fleet_ingest_messages_total{outcome=\"received\"}"] ?? 0) - received0
            let stored = (metrics["fleet_ingest_readings_stored_total"] ?? 0) - stored0
            if start == nil, taken > 0 { start = now }
            if stored != lastStored { lastStored = stored; lastChange = now; end = now }
            rss.append((taken / Double(max(expected, 1)), status(pid: pid, "VmRSS") ?? 0))
            if taken >= Double(expected), now - lastChange > 0.3 { break }
            if start != nil, now - lastChange > 15 { break }  // stalled: report what was stored
            if now - began > 900 { break }  // far too slow: report what was stored
            _ = try reactor.run(until: { reactor.clock.unixTime >= now + 0.05 }, limit: .seconds(1))
        }
        let seconds = max(end - (start ?? end) , 1e-9)
        // CPU time per uplink barely moves with what else runs on the box; the rates do.
        let cpu = max(cpuSeconds(pid: pid) - cpu0, 0)
        let stored = lastStored
        func rssAt(_ p: Double) -> Int { rss.first { $0.progress >= p }?.kb ?? rss.last?.kb ?? 0 }
        print(#"{"mode":"controller","uplinks":\#(Int(taken)),"expected":\#(expected),"readings":\#(Int(stored)),"#
            + #""seconds":\#(seconds),"uplinks_per_s":\#(Int(taken / seconds)),"readings_per_s":\#(Int(stored / seconds)),"#
            + #""lag_p99_ms":\#(1000 * (metrics["fleet_loop_lag_seconds{quantile=\"0.99\"}"] ?? -1)),"#
            + #""lag_max_ms":\#(1000 * (metrics["fleet_loop_lag_seconds{quantile=\"1\"}"] ?? -1)),"#
            + #""rss_kb_10":\#(rssAt(0.1)),"rss_kb_50":\#(rssAt(0.5)),"rss_kb_100":\#(rssAt(1.0)),"#
            + #""rss_peak_kb":\#(status(pid: pid, "VmHWM") ?? 0),"#
            + #""cpu_s":\#(cpu),"cpu_us_per_uplink":\#(Int(1e6 * cpu / max(taken, 1)))}"#)
    }

    /// Prometheus text → sample name with labels → value.
    static func parse(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }

    /// User plus system CPU seconds of a process (/proc/PID/stat fields 14 and 15, in clock
    /// ticks of 1/100 s on Linux).
    static func cpuSeconds(pid: String) -> Double {
        guard let text = try? readTextFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, so utime (14) and stime (15) are at 11 and 12.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / 100
    }

    /// A `kB` field of /proc/PID/status.
    static func status(pid: String, _ field: String) -> Int? {
        guard let text = try? readTextFile("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
        }
        return nil
    }
}
