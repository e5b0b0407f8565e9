import ArgumentParser
import FleetJSON

/// `fleet-controller telemetry [--sensor EUI] [--resource R] [--kind K] [--bucket 15m|1h] [--from T] [--to T] [--limit N]`
struct TelemetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "telemetry", abstract: "Stored readings (newest first), or rollups with --bucket.")
    @OptionGroup var daemon: DaemonOptions
    @Option var sensor: String?
    @Option var resource: String?
    @Option var kind: String?
    @Option(help: "15m or 1h: count, min, max, avg and last per bucket instead of raw readings.") var bucket: String?
    @Option(help: "Unix seconds, inclusive.") var from: Double?
    @Option(help: "Unix seconds, exclusive.") var to: Double?
    @Option var limit: Int = 50

    /// The daemon answers a long raw range in parts (`more_before`), each a few milliseconds of its
    /// loop; this follows them until `limit` readings are in or the range is done.
    func run() throws {
        var q: [String] = []
        for (name, value) in [("sensor", sensor), ("resource", resource), ("kind", kind), ("bucket", bucket)] {
            if let value { q.append("\(name)=\(percentEncode(value))") }
        }
        if let from { q.append("from=\(from)") }
        let client = try daemon.client()
        var readings: [JSON] = []
        var before = to
        while true {
            let page = q + ["limit=\(limit - readings.count)"] + (before.map { ["to=\($0)"] } ?? [])
            let answer = try client.call("GET", "/api/v1/telemetry?" + page.joined(separator: "&"))
            guard let part = answer["readings"]?.array else { return print(answer.serialized()) }  // buckets
            readings += part
            guard let more = answer["more_before"]?.double, readings.count < limit else { break }
            before = more
        }
        print(JSON.object(["readings": .array(readings)]).serialized())
    }
}

/// `fleet-controller sensors [list|discovered|dead-letters|claim|unclaim|permit|occupancy]`
struct SensorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensors", abstract: "Claimed sensors, discovered devices, claims and the claim window.",
        subcommands: [List.self, Discovered.self, DeadLetters.self, Claim.self, Unclaim.self, Permit.self, Occupancy.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Claimed sensors with last readings and battery.")
        @OptionGroup var daemon: DaemonOptions
        func run() throws { print(try daemon.client().call("GET", "/api/v1/sensors").serialized()) }
    }

    struct Discovered: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Devices heard but not claimed.")
        @OptionGroup var daemon: DaemonOptions
        func run() throws { print(try daemon.client().call("GET", "/api/v1/sensors/discovered").serialized()) }
    }

    struct DeadLetters: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dead-letters", abstract: "Messages that could not be used, with why, and counts per device.")
        @OptionGroup var daemon: DaemonOptions
        @Option var limit: Int = 20
        func run() throws {
            print(try daemon.client().call("GET", "/api/v1/sensors/dead-letters?limit=\(limit)").serialized())
        }
    }

    struct Claim: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Claim a sensor: decode it by model and store its readings under a resource.")
        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "DevEUI (16 hex digits), Pressac sensor id or Irisys serial.") var id: String
        @Option var vendor: String = "milesight"
        @Option var model: String
        @Option var resource: String
        @Option(help: "Room name a DS3604 display shows.") var name: String?
        @Option(name: .customLong("line"), help: ArgumentHelp(
            "A VS133/VS135 counting line (1-4) whose in/out feed the resource's people count; repeat for a room "
                + "with several doors (--line 1 --line 2). Default: line 1.", valueName: "N"))
        var lines: [Int] = []

        func validate() throws {
            if let bad = lines.first(where: { !(1...4).contains($0) }) {
                throw ValidationError("--line \(bad): a VS133 or VS135 counts lines 1 to 4")
            }
        }

        func run() throws {
            var body: JSONObject = ["dev_eui": JSON(id), "vendor": JSON(vendor), "model": JSON(model),
                                    "resource": JSON(resource)]
            if let name { body["name"] = JSON(name) }
            if !lines.isEmpty { body["lines"] = .array(lines.map { JSON($0) }) }
            print(try daemon.client().call("POST", "/api/v1/sensors", body: .object(body)).serialized())
        }
    }

    struct Unclaim: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget a claim made through the API or a window.")
        @OptionGroup var daemon: DaemonOptions
        @Argument var id: String
        func run() throws { print(try daemon.client().call("DELETE", "/api/v1/sensors/\(percentEncode(id))").serialized()) }
    }

    struct Permit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Claim new devices of one model to a resource as they appear, for a while (at most 900 s).",
            discussion: """
                A LoRaWAN device first heard while the window is open is claimed when its uplink decodes \
                with --model without error or warning and carries a measurement (a join's basic-info frame \
                counts only when the network server's device name names the model). Pressac and Irisys \
                devices are claimed when the vendor (and the model the gateway reports) match. Devices \
                passed over stay in `sensors discovered` with the reason; devices heard before the \
                window opened are never claimed by it. The window survives a restart of the daemon with the \
                time it has left (what it passed over is judged again); --close ends it for good. A VS133 or \
                VS135 window with --line claims every counter with those lines, as `sensors claim --line` would.
                """)
        @OptionGroup var daemon: DaemonOptions
        @Option var seconds: Int = 180
        @Option var vendor: String = "milesight"
        @Option var model: String?
        @Option var resource: String?
        @Option(name: .customLong("line"), help: ArgumentHelp(
            "For a VS133/VS135 window: a counting line (1-4) each claimed counter sums into the resource's people "
                + "count; repeat for a room with several doors (--line 1 --line 2). Default: line 1.", valueName: "N"))
        var lines: [Int] = []
        @Flag(help: "Close the open window.") var close = false
        @Flag(help: "Show the open window.") var show = false

        func validate() throws {
            guard close || show || (model != nil && resource != nil) else {
                throw ValidationError("give --model and --resource (or --close / --show)")
            }
            guard (1...900).contains(seconds) else { throw ValidationError("--seconds must be 1 to 900") }
            if let bad = lines.first(where: { !(1...4).contains($0) }) {
                throw ValidationError("--line \(bad): a VS133 or VS135 counts lines 1 to 4")
            }
        }

        func run() throws {
            let client = try daemon.client()
            if close { print(try client.call("DELETE", "/api/v1/sensors/permit").serialized()); return }
            if show { print(try client.call("GET", "/api/v1/sensors/permit").serialized()); return }
            var body: JSONObject = ["seconds": JSON(seconds), "vendor": JSON(vendor), "model": JSON(model ?? ""),
                                    "resource": JSON(resource ?? "")]
            if !lines.isEmpty { body["lines"] = .array(lines.map { JSON($0) }) }
            print(try client.call("POST", "/api/v1/sensors/permit", body: .object(body)).serialized())
        }
    }

    struct Occupancy: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "People and occupied state per resource.")
        @OptionGroup var daemon: DaemonOptions
        func run() throws { print(try daemon.client().call("GET", "/api/v1/occupancy").serialized()) }
    }
}
