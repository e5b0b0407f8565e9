import ArgumentParser
import FleetJSON

/// `fleet-controller gateways [list|add NAME --format F|remove NAME]`
struct GatewaysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateways", abstract: "Sensor gateways with their own broker accounts.",
        subcommands: [List.self, Add.self, Remove.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        @OptionGroup var daemon: DaemonOptions
        func run() throws { print(try daemon.client().call("GET", "/api/v1/gateways").serialized()) }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a gateway account that may publish only under <prefix>/ingest/NAME/; prints its credentials.")
        @OptionGroup var daemon: DaemonOptions
        @Argument var name: String
        @Option(help: "Envelope format: milesight-gateway, chirpstack-v4, tts-v3, pressac or irisys.") var format: String
        @Option(name: .customLong("time-zone"),
                help: "Zone of the gateway's local timestamps (Pressac), e.g. Europe/London or +01:00.")
        var timeZone: String?
        func run() throws {
            var body: JSONObject = ["name": JSON(name), "format": JSON(format)]
            if let timeZone { body["time_zone"] = JSON(timeZone) }
            let r = try daemon.client().callAndWait("POST", "/api/v1/gateways", body: .object(body))
            print("""
                Gateway \(r["name"]?.string ?? name) (\(r["format"]?.string ?? format)). Set on the gateway:
                  broker:   \(r["broker"]?.string ?? "")
                  username: \(r["username"]?.string ?? "")
                  password: \(r["password"]?.string ?? "")
                  topic:    \(r["publish_under"]?.string ?? "")<anything>
                The password is shown once; `gateways add` again makes a new one.
                """)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a gateway's account (disconnects it at once).")
        @OptionGroup var daemon: DaemonOptions
        @Argument var name: String
        func run() throws {
            print(try daemon.client().callAndWait("DELETE", "/api/v1/gateways/\(percentEncode(name))").serialized())
        }
    }
}
