import ArgumentParser
import FleetJSON
import FleetLoop
import Glibc
import Logging
import MQTTBridge

/// `device-sim pair --count N`: N new panels pair through the controller the way installers and
/// panels do, and the time per pairing is reported.
struct PairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pair",
        abstract: "Pair simulated panels: hello as the bootstrap account, code entered over the admin API, own CONNECT.",
        discussion: """
            Each panel makes its id, password and 8-letter code, says hello on <prefix>/pair/hello with \
            the bootstrap account (--username/--password), waits until the controller lists it, then the \
            code is entered over the admin API (POST /api/v1/pairings) and the panel connects with its \
            own account until its retained config arrives. The time per pairing runs from the code entry \
            to the config on the panel's own session. Exits 1 if any panel did not pair.
            """)

    @OptionGroup var broker: BrokerOptions
    @Option(help: "Number of panels.") var count = 10
    @Option(help: "Panels pairing at the same time.") var concurrency = 8
    @Option(help: "Base URL of the controller's admin API.") var api = "http://127.0.0.1:8080"
    @Option(name: .customLong("token-file"), help: "File with the controller's admin token.") var tokenFile: String
    @Option(help: "Topic prefix of the controller.") var prefix = "fc/v1"
    @Option(help: "Device ids are <id-prefix>-<n>.") var idPrefix = "sim-\(getpid())"
    @Option(help: "Resources are <resource-prefix>/<n>.") var resourcePrefix = "hq/sim"
    @Flag(help: "Print the report as one JSON line.") var json = false

    func validate() throws {
        guard count >= 1, concurrency >= 1, concurrency <= 128 else {
            throw ValidationError("--count must be at least 1 and --concurrency 1-128")
        }
    }

    func run() throws {
        let token = try readTextFile(tokenFile).trimmingCharacters(in: " \n\r\t")
        let session = try BrokerSession(options: broker, clientID: BrokerSession.clientID("pair"))
        try session.connect()
        let run = PairingRun(session: session, options: broker, api: api, token: token, prefix: prefix)
        let started = session.reactor.clock.now
        var next = 0
        func launch() {
            while run.active < concurrency && next < count {
                run.pair(id: "\(idPrefix)-\(next)", resource: "\(resourcePrefix)/\(next)") { launch() }
                next += 1
            }
        }
        launch()
        try session.run(until: { run.finished == count }, limit: .seconds(Int64(60 + count)))
        let seconds = session.reactor.clock.now.since(started).seconds
        session.close()
        let latency = LatencyReport(milliseconds: run.pairingMS)
        let rate = seconds > 0 ? (Double(run.pairingMS.count) / seconds * 10).rounded() / 10 : 0
        if json {
            print(#"{"panels":\#(count),"paired":\#(run.pairingMS.count),"failed":\#(run.failures.count),"seconds":\#((seconds * 1000).rounded() / 1000),"pairings_per_s":\#(rate),\#(latency.jsonFields)}"#)
        } else {
            print("\(run.pairingMS.count)/\(count) panels paired in \((seconds * 100).rounded() / 100) s (\(rate)/s, concurrency \(concurrency))")
            print("time per pairing (code entered → config on the panel's own session), ms: \(latency.text)")
            for f in run.failures.prefix(10) { print("failed: \(f)") }
        }
        if !run.failures.isEmpty || run.pairingMS.count < count { throw ExitCode(1) }
    }
}

/// The panels in flight, on the session's loop.
final class PairingRun {
    let session: BrokerSession
    let options: BrokerOptions
    let http: HTTPClient
    let api: String
    let token: String
    let prefix: String
    private(set) var active = 0
    private(set) var finished = 0
    private(set) var pairingMS: [Double] = []
    private(set) var failures: [String] = []
    private var clients: [String: MQTTClient] = [:]

    init(session: BrokerSession, options: BrokerOptions, api: String, token: String, prefix: String) {
        self.session = session
        self.options = options
        self.http = HTTPClient(reactor: session.reactor)
        self.api = api
        self.token = token
        self.prefix = prefix
    }

    private var reactor: Reactor { session.reactor }

    func pair(id: String, resource: String, then next: @escaping () -> Void) {
        active += 1
        let password = randomText(24), code = randomCode()
        let hello: JSON = ["id": JSON(id), "kind": "room_display", "model": "SIM-1", "firmware": "0.0.1",
                           "password": JSON(password), "code": JSON(code), "fingerprint": JSON(String(password.prefix(6)))]
        session.client.publish(MQTTMessage(topic: "\(prefix)/pair/hello", payload: hello.bytes, qos: 1))
        let done: (String?) -> Void = { [unowned self] failure in
            if let failure { self.failures.append("\(id): \(failure)") }
            self.active -= 1
            self.finished += 1
            next()
        }
        // Enter the code once the controller lists the panel: a code typed before the hello
        // arrived would count as a wrong one.
        poll("/api/v1/pairings/\(id)", until: { $0["status"] == "waiting" }) { [unowned self] listed in
            guard listed != nil else { return done("never listed as waiting") }
            let start = self.reactor.clock.now
            let body: JSON = ["code": JSON(code), "resource": JSON(resource), "name": JSON("Simulated \(id)")]
            self.call("POST", "/api/v1/pairings", body) { status, reply in
                guard status == 202 else { return done("POST /api/v1/pairings answered \(status): \(reply)") }
                self.poll("/api/v1/pairings/\(id)", until: { $0["status"] != "approving" }) { state in
                    guard state?["status"] == "paired" else { return done("pairing ended \(state ?? .null)") }
                    self.connectOwn(id: id, password: password) { ok in
                        guard ok else { return done("own CONNECT or config failed") }
                        self.pairingMS.append(self.reactor.clock.now.since(start).milliseconds)
                        done(nil)
                    }
                }
            }
        }
    }

    /// The panel's own session: done when its retained config arrives.
    private func connectOwn(id: String, password: String, _ done: @escaping (Bool) -> Void) {
        var c = options.mqttConfig(clientID: id)
        c.username = id
        c.password = password
        let client = MQTTClient(reactor: reactor, config: c, logger: options.logger("panel"))
        clients[id] = client
        var finished = false
        let finish: (Bool) -> Void = { [unowned self] ok in
            guard !finished else { return }
            finished = true
            // Stopping inside the client's own callback would re-enter libmosquitto; do it next tick.
            self.reactor.schedule(after: .zero) { [unowned self] in
                self.clients.removeValue(forKey: id)?.stop(flushLimit: .milliseconds(50))
            }
            done(ok)
        }
        client.subscribe("\(prefix)/dev/\(id)/down/config") { _ in finish(true) }
        client.start()
        reactor.schedule(after: .seconds(10)) { finish(false) }
    }

    private func call(_ method: String, _ path: String, _ body: JSON?, _ done: @escaping (Int, JSON) -> Void) {
        var headers = [("Authorization", "Bearer \(token)")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        http.send(HTTPRequest(method: method, url: api + path, headers: headers, body: body?.bytes ?? [], timeout: .seconds(10))) { r in
            switch r {
            case .success(let resp): done(resp.status, (try? JSON.parse(resp.body)) ?? .null)
            case .failure(let e): done(0, JSON("\(e)"))
            }
        }
    }

    /// GETs `path` every 2 ms until `until` holds (→ the answer) or 10 s pass (→ nil).
    private func poll(_ path: String, until: @escaping (JSON) -> Bool, deadline: Instant? = nil, _ done: @escaping (JSON?) -> Void) {
        let end = deadline ?? reactor.clock.now + .seconds(10)
        call("GET", path, nil) { [unowned self] status, j in
            if status == 200 && until(j) { return done(j) }
            guard self.reactor.clock.now < end else { return done(nil) }
            self.reactor.schedule(after: .milliseconds(2)) { self.poll(path, until: until, deadline: end, done) }
        }
    }
}

/// 8 letters of RFC 8628's base-20 alphabet, by rejection sampling.
private func randomCode() -> String {
    let alphabet = Array("BCDFGHJKLMNPQRSTVWXZ".utf8)
    var out: [UInt8] = []
    while out.count < 8 {
        let b = UInt8.random(in: 0...255)
        if b < 240 { out.append(alphabet[Int(b) % 20]) }
    }
    return String(decoding: out, as: UTF8.self)
}

private func randomText(_ n: Int) -> String {
    let chars = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
    return String(decoding: (0..<n).map { _ in chars.randomElement()! }, as: UTF8.self)
}

@available(*, unavailable) extension PairingRun: Sendable {}
