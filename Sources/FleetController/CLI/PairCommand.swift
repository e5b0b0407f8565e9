import ArgumentParser
import FleetJSON
import Glibc

/// `fleet-controller pair CODE --resource R [--name N] [--yes]`
struct PairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pair", abstract: "Pair the panel showing CODE into a room or door.",
        discussion: "Shows the panel's fingerprint to compare with its screen, then creates its broker account. Without CODE, lists the panels waiting.")
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The code on the panel's screen, e.g. WDJB-MJHT.") var code: String?
    @Option(help: "The room or door it serves, e.g. hq/3/3.14.") var resource: String?
    @Option(help: "A name for people.") var name: String?
    @Flag(name: .shortAndLong, help: "Do not ask to confirm the fingerprint.") var yes = false

    func run() throws {
        let client = try daemon.client()
        guard let code else {
            print(try client.call("GET", "/api/v1/pairings").serialized())
            return
        }
        guard let resource else { throw ValidationError("--resource is required to pair") }
        var body: JSONObject = ["code": JSON(code), "resource": JSON(resource)]
        if let name { body["name"] = JSON(name) }
        try confirmAndPair(client, path: "/api/v1/pairings", body: body, yes: yes)
    }
}

/// Looks the code up, asks the installer to compare the fingerprint (unless `yes`), pairs, and
/// waits for the broker account.
func confirmAndPair(_ client: AdminClient, path: String, body: JSONObject, yes: Bool) throws {
    var preview = body
    preview["confirm"] = false
    let found = try client.call("POST", path, body: .object(preview))
    let id = found["device_id"]?.string ?? "?"
    print("Panel \(id): \(found["kind"]?.string ?? "") \(found["model"]?.string ?? "") firmware \(found["firmware"]?.string ?? "")")
    print("Fingerprint: \(found["fingerprint"]?.string ?? "?")  (it must match the one on the panel's screen)")
    if !yes {
        guard isatty(0) == 1 else {
            printError("not paired: no terminal to confirm on; compare the fingerprint with the panel and pass --yes")
            throw ExitCode(1)
        }
        print("Pair it? [y/N] ", terminator: "")
        guard let answer = readLine(), answer.lowercased().hasPrefix("y") else {
            print("not paired")
            throw ExitCode(1)
        }
    }
    _ = try client.call("POST", path, body: .object(body))
    let state = try client.waitFor("/api/v1/pairings/\(id)") { $0["status"]?.string != "approving" }
    guard state["status"] == "paired" else {
        printError("pairing \(id) failed: \(state["reason"]?.string ?? state.serialized())")
        throw ExitCode(1)
    }
    print(state["device"]?.serialized() ?? state.serialized())
}

extension AdminClient {
    /// Polls `path` every 100 ms until `done` holds (at most 15 s).
    func waitFor(_ path: String, _ done: (JSON) -> Bool) throws -> JSON {
        for _ in 0..<150 {
            let state = try call("GET", path)
            if done(state) { return state }
            _ = poll(nil, 0, 100)
        }
        printError("no outcome after 15 s; check `fleet-controller status`")
        throw ExitCode(1)
    }

    /// Runs an operation that may answer 202, and waits for its result.
    func callAndWait(_ method: String, _ path: String, body: JSON? = nil) throws -> JSON {
        let first = try call(method, path, body: body)
        guard let op = first["operation"]?.int, first["status"] == "running" else { return first }
        let state = try waitFor("/api/v1/operations/\(op)") { $0["status"]?.string != "running" }
        guard state["status"] == "succeeded" else {
            printError("error \(state["http_status"]?.int ?? 0): \(state["message"]?.string ?? state.serialized())")
            throw ExitCode(1)
        }
        return state["result"] ?? .null
    }
}
