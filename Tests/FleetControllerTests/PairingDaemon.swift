import FleetJSON
import FleetTestSupport
import Foundation

/// The daemon binary against a mosquitto set up by `fleet-controller broker init` (dynsec, default
/// deny), configured with the controller, admin and bootstrap accounts it printed. Panels are
/// mosquitto's command-line clients with their own credentials.
final class PairingDaemon {
    let broker: BrokerHarness
    let daemon: DaemonHarness
    let accounts: BrokerHarness.DynsecAccounts

    init(extraConfig: String = "") throws {
        broker = try BrokerHarness(dynsecWith: DaemonHarness.binary)
        accounts = broker.accounts!
        daemon = try DaemonHarness(people: "email,display_name,role,badge,active\nada@example.com,Ada,admin,B-0001,true\nbob@example.com,Bob,user,B-1001,true\n",
                                   broker: broker)
        // DaemonHarness writes an anonymous broker config; this one carries the accounts.
        try writeFile(daemon.configPath, """
            site = "hq"
            [state]
            dir = "\(daemon.dir)/state"
            [broker]
            host = "127.0.0.1"
            port = \(broker.port)
            username = "\(accounts.controller.username)"
            password_file = "\(accounts.controller.file)"
            admin_username = "\(accounts.admin.username)"
            admin_password_file = "\(accounts.admin.file)"
            [http]
            listen = "127.0.0.1:\(daemon.httpPort)"
            [pairing]
            bootstrap_username = "\(accounts.bootstrap.username)"
            [[directory.sources]]
            name = "badges"
            kind = "csv"
            path = "\(daemon.dir)/people.csv"
            interval = "1h"
            \(extraConfig)

            """)
    }

    func start(environment: [String: String] = [:]) throws { try daemon.start(environment: environment) }

    /// A panel announces itself with the bootstrap account.
    func hello(_ id: String, code: String) throws {
        let body = #"{"id":"\#(id)","kind":"checkin_panel","model":"CP-2","firmware":"2.1.0","password":"\#(password(id))","code":"\#(code)","fingerprint":"F00D-\#(id.suffix(1).uppercased())"}"#
        let r = try ChildProcess.run("/usr/bin/mosquitto_pub", [
            "-p", "\(broker.port)", "-V", "5", "-q", "1", "-u", accounts.bootstrap.username, "-P", accounts.bootstrap.password,
            "-t", "fc/v1/pair/hello", "-m", body,
        ], in: daemon.dir)
        guard r.status == 0 else { throw HarnessError("hello: \(r.output)") }
    }

    /// Publishes `body` as a hello with the bootstrap account, whatever it is.
    func rawHello(_ body: String) throws {
        let r = try ChildProcess.run("/usr/bin/mosquitto_pub", [
            "-p", "\(broker.port)", "-V", "5", "-q", "1", "-u", accounts.bootstrap.username, "-P", accounts.bootstrap.password,
            "-t", "fc/v1/pair/hello", "-m", body,
        ], in: daemon.dir)
        guard r.status == 0 else { throw HarnessError("hello: \(r.output)") }
    }

    func password(_ id: String) -> String { "secret-of-\(id)-0123456789" }

    /// Whether the panel `id` can connect with its own credentials and publish to its own up/.
    func panelCanConnect(_ id: String) throws -> Bool {
        let r = try ChildProcess.run("/usr/bin/mosquitto_pub", [
            "-p", "\(broker.port)", "-V", "5", "-q", "1", "-u", id, "-P", password(id), "-i", id,
            "-t", "fc/v1/dev/\(id)/up/ping", "-m", "x",
        ], in: daemon.dir)
        return r.status == 0
    }

    /// An MQTT v5 request as the paired panel, with its own account.
    func panelRequest(_ id: String, op: String, body: String) throws -> JSON {
        let r = try ChildProcess.run("/usr/bin/mosquitto_rr", [
            "-p", "\(broker.port)", "-V", "5", "-u", id, "-P", password(id), "-i", id, "-t", "fc/v1/dev/\(id)/up/\(op)",
            "-e", "fc/v1/dev/\(id)/down/rpc", "-m", body, "-W", "5",
        ], in: daemon.dir)
        guard r.status == 0 else { throw HarnessError("mosquitto_rr exited \(r.status): \(r.output)") }
        return try JSON.parse(r.output.trimmingCharacters(in: "\n"))
    }

    func api(_ method: String, _ path: String, _ body: String? = nil) throws -> (status: Int, json: JSON) {
        let r = try daemon.request(method, path, body: body)
        return (r.status, (try? JSON.parse(r.body)) ?? .null)
    }

    /// Polls until `path` answers something `done` accepts (the daemon works on the broker meanwhile).
    func await(_ path: String, _ done: (JSON) -> Bool) throws -> JSON {
        var last: JSON = .null
        let ok = waitUntil(seconds: 10) {
            last = (try? api("GET", path).json) ?? .null
            return done(last)
        }
        guard ok else { throw HarnessError("\(path) never became ready: \(last)\n\(daemon.log)") }
        return last
    }

    /// Runs the fleet-controller CLI against this daemon.
    func cli(_ args: [String]) throws -> (status: Int32, output: String) {
        try ChildProcess.run(DaemonHarness.binary, args + ["--url", "http://127.0.0.1:\(daemon.httpPort)",
                                                           "--token-file", "\(daemon.dir)/state/admin.token"], in: daemon.dir)
    }
}
