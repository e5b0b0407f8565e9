import ArgumentParser
import FleetJSON
import FleetLoop
import Glibc
import MQTTBridge

/// `device-sim responder`: a stand-in controller that answers `authorize` from a fixed badge list.
/// It measures the broker path alone (the floor under the controller's own latency) and lets the
/// panel simulator be tested without the daemon.
struct ResponderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "responder",
        abstract: "Answer panel authorize requests from a fixed badge list (broker-only baseline).",
        discussion: "Runs until SIGINT/SIGTERM or --duration; prints how many requests it answered."
    )

    @OptionGroup var broker: BrokerOptions

    @Option(help: "Topic prefix to serve.")
    var prefix = "fc/v1"

    @Option(help: "Badge to allow; repeat for several. Every other badge is denied.")
    var allow: [String] = []

    @Option(help: "Seconds to run (default: until interrupted).")
    var duration: Double?

    @Option(help: "Write this file once subscribed, so scripts can wait for readiness.")
    var readyFile: String?

    func run() throws {
        let session = try BrokerSession(options: broker, clientID: BrokerSession.clientID("responder"))
        let router = RequestRouter(client: session.client, prefix: prefix, logger: broker.logger("responder"))
        let allowed = Set(allow)
        router.on("authorize") { request in
            let value = request.body["credential"]?["value"]?.string ?? ""
            let allowedBadge = allowed.contains(value)
            return [
                "decision": allowedBadge ? "allow" : "deny",
                "reason": allowedBadge ? "badge on the responder's allow list" : "unknown badge",
                "cache_age_s": 0,
            ]
        }
        router.start()
        try session.connect()
        if let readyFile { try writeText(readyFile, "ready\n") }
        let limit: Duration = duration.map { .milliseconds(Int64($0 * 1000)) } ?? .seconds(365 * 86_400)
        try session.run(until: { false }, limit: limit)
        session.close()
        print("responder: answered \(router.answered), rejected \(router.rejected)")
    }
}

/// Writes `text` to `path`, replacing it.
private func writeText(_ path: String, _ text: String) throws {
    guard let file = fopen(path, "w") else {
        throw SimError("write \(path)", String(cString: strerror(errno)))
    }
    defer { fclose(file) }
    guard fputs(text, file) >= 0 else { throw SimError("write \(path)", String(cString: strerror(errno))) }
}
