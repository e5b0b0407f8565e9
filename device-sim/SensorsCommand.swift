import ArgumentParser
import FleetLoop

/// `device-sim sensors`: AM307 uplinks from N sensors through a simulated UG65 gateway.
struct SensorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensors",
        abstract: "Publish Milesight AM307 uplinks in the UG65 gateway envelope.",
        discussion: """
            Sensor i has DevEUI 24E1247100000000+i and publishes on <topic-prefix>/<deveui> (lowercase). \
            The total rate is shared round-robin. Ends after --messages or --duration (default 10 s) and \
            prints one summary line.
            """
    )

    @OptionGroup var broker: BrokerOptions

    @Option(help: "Number of simulated sensors.")
    var count = 10

    @Option(help: "Messages per second in total; 0 sends as fast as the broker acknowledges.")
    var rate: Double = 10

    @Option(help: "Seconds to run (default 10 when --messages is not given).")
    var duration: Double?

    @Option(help: "Messages to send in total, then stop.")
    var messages: Int?

    @Option(help: "Topic prefix; the lowercase DevEUI is appended.")
    var topicPrefix = "milesight/uplink"

    @Option(help: "QoS of the uplinks (0 or 1).")
    var qos: Int32 = 1

    @Option(help: "Messages the broker may have unacknowledged at once.")
    var window = 2000

    @Option(help: "Seed for the simulated values (same seed, same values).")
    var seed: UInt64 = 1

    @Option(name: .customLong("first-fcnt"), help: "Frame counter of each sensor's first uplink (continue a previous run's count).")
    var firstFCnt: UInt32 = 1

    @Flag(help: "Print the summary as one JSON line.")
    var json = false

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard rate >= 0, rate.isFinite else { throw ValidationError("--rate must be 0 or more") }
        guard qos == 0 || qos == 1 else { throw ValidationError("--qos must be 0 or 1") }
        guard window >= 1 else { throw ValidationError("--window must be at least 1") }
        if let messages, messages < 1 { throw ValidationError("--messages must be at least 1") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be more than 0") }
    }

    func run() throws {
        let session = try BrokerSession(options: broker, clientID: BrokerSession.clientID("sensors"))
        try session.connect()
        let seconds = duration ?? (messages == nil ? 10 : nil)
        var limit = messages ?? Int.max
        // A paced run for a duration sends exactly rate × duration, not one more at the last tick.
        if let seconds, rate > 0 { limit = min(limit, max(1, Int(seconds * rate))) }
        let fleet = SensorFleet(session: session, count: count, topicPrefix: topicPrefix, qos: qos, rate: rate,
                                limit: limit, window: window, seed: seed, firstFCnt: firstFCnt)
        let summary = try fleet.run(duration: seconds.map { .milliseconds(Int64($0 * 1000)) })
        session.close()
        if json {
            print(#"{"mode":"sensors","sensors":\#(count),"qos":\#(qos),"target_rate":\#(rate),"#
                + #""sent":\#(summary.sent),"seconds":\#(round3(summary.seconds)),"#
                + #""rate":\#(Int(summary.rate.rounded())),"dropped":\#(summary.dropped)}"#)
        } else {
            print("sensors: sent \(summary.sent) uplinks from \(count) sensors in \(round3(summary.seconds)) s "
                + "= \(Int(summary.rate.rounded())) msg/s (qos \(qos), dropped \(summary.dropped))")
        }
        if let messages, summary.sent < messages {
            throw SimError("sensors", "sent \(summary.sent) of \(messages) messages")
        }
    }
}

func round3(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
