import ArgumentParser
import Glibc
import MQTTBridge

/// `device-sim panel`: a paired check-in panel sending `authorize` requests and measuring replies.
struct PanelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "panel",
        abstract: "Act as a paired panel: send authorize requests and report decisions and latency.",
        discussion: """
            Requests go to <prefix>/dev/<device-id>/up/authorize, replies are expected on \
            <prefix>/dev/<device-id>/down/rpc. Badges are used round-robin. With --rate 0 requests go \
            one at a time, each right after the previous reply (pure round-trip latency). Exits 1 when \
            a request timed out.
            """
    )

    @OptionGroup var broker: BrokerOptions

    @Option(help: "The panel's device id (pre-provisioned or paired on the controller).")
    var deviceID: String

    @Option(help: "Badge to present; repeat for several.")
    var badge: [String]

    @Option(help: "Number of requests.")
    var requests = 100

    @Option(help: "Requests per second; 0 sends the next request when the previous reply arrives.")
    var rate: Double = 0

    @Flag(name: .customLong("v311"), help: "Speak MQTT 3.1.1: reply_to and id go in the JSON body.")
    var v311 = false

    @Option(help: "Topic prefix of the controller.")
    var prefix = "fc/v1"

    @Option(help: "QoS of requests and the reply subscription (0 or 1).")
    var qos: Int32 = 1

    @Option(help: "Seconds to wait for a reply before counting a timeout.")
    var timeout: Double = 5

    @Option(help: "MQTT client id (default panel-<device-id>-sim-<pid>).")
    var clientID: String?

    @Flag(help: "Print the report as one JSON line.")
    var json = false

    func validate() throws {
        guard !badge.isEmpty else { throw ValidationError("give at least one --badge") }
        guard requests >= 1 else { throw ValidationError("--requests must be at least 1") }
        guard rate >= 0, rate.isFinite else { throw ValidationError("--rate must be 0 or more") }
        guard qos == 0 || qos == 1 else { throw ValidationError("--qos must be 0 or 1") }
        guard timeout > 0 else { throw ValidationError("--timeout must be more than 0") }
        guard Topic.isValidName("\(prefix)/dev/\(deviceID)/up/authorize"), !deviceID.contains("/") else {
            throw ValidationError("--device-id and --prefix must make a valid topic without wildcards")
        }
    }

    func run() throws {
        let id = clientID ?? "panel-\(deviceID)-sim-\(getpid())"
        let session = try BrokerSession(options: broker, clientID: id, version: v311 ? .v311 : .v5)
        let panel = PanelClient(session: session, prefix: prefix, deviceID: deviceID, badges: badge, v311: v311,
                                qos: qos, timeout: .milliseconds(Int64(timeout * 1000)))
        panel.subscribe()
        try session.connect()
        let result = try panel.run(requests: requests, rate: rate)
        session.close()
        print(json ? jsonLine(result) : text(result))
        if result.timeouts > 0 || result.replies == 0 {
            throw ExitCode(1)
        }
    }

    private var protocolName: String { v311 ? "MQTT 3.1.1" : "MQTT 5" }

    private func text(_ r: PanelClient.Result) -> String {
        let latency = LatencyReport(milliseconds: r.latenciesMS)
        let throughput = r.seconds > 0 ? Int((Double(r.replies) / r.seconds).rounded()) : 0
        let outcomes = r.outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return """
            panel \(deviceID) (\(protocolName), QoS \(qos)): \(r.sent) requests, \(r.replies) replies, \
            \(r.timeouts) timeouts, \(r.unmatched) unmatched in \(round3(r.seconds)) s (\(throughput) req/s)
            decisions: \(outcomes.isEmpty ? "none" : outcomes)
            latency ms: \(latency.text)
            """
    }

    private func jsonLine(_ r: PanelClient.Result) -> String {
        let latency = LatencyReport(milliseconds: r.latenciesMS)
        let outcomes = r.outcomes.sorted { $0.key < $1.key }.map { #""\#($0.key)":\#($0.value)"# }
            .joined(separator: ",")
        let throughput = r.seconds > 0 ? Int((Double(r.replies) / r.seconds).rounded()) : 0
        return #"{"mode":"panel","protocol":"\#(v311 ? "3.1.1" : "5")","qos":\#(qos),"target_rate":\#(rate),"#
            + #""requests":\#(r.sent),"replies":\#(r.replies),"timeouts":\#(r.timeouts),"#
            + #""unmatched":\#(r.unmatched),"decisions":{\#(outcomes)},"seconds":\#(round3(r.seconds)),"#
            + #""throughput":\#(throughput),\#(latency.jsonFields)}"#
    }
}
