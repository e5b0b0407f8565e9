import ArgumentParser
import FleetJSON

/// `fleet-controller devices [list|show|rename|move|disable|enable|rotate|unpair|replace|add]`
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "Known devices: list, show, rename, move, disable, enable, rotate, unpair, replace, add.",
        subcommands: [List.self, Show.self, Rename.self, Move.self, Disable.self, Enable.self, Rotate.self, Unpair.self,
                      Replace.self, Add.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "All devices, or one (`devices ID` as before).")
        @OptionGroup var daemon: DaemonOptions
        @Argument var id: String?
        func run() throws {
            print(try daemon.client().call("GET", "/api/v1/devices" + (id.map { "/\(percentEncode($0))" } ?? "")).serialized())
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One device: kind, model, firmware, resource, paired at, last seen, online.")
        @OptionGroup var daemon: DaemonOptions
        @Argument var id: String
        func run() throws { print(try daemon.client().call("GET", "/api/v1/devices/\(percentEncode(id))").serialized()) }
    }

    struct Rename: ParsableCommand {
        @OptionGroup var daemon: DaemonOptions
        @Argument var id: String
        @Argument var name: String
        func run() throws {
            print(try daemon.client().call("POST", "/api/v1/devices/\(percentEncode(id))", body: ["name": JSON(name)]).serialized())
        }
    }

    struct Move: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a device to another room or door.")
        @OptionGroup var daemon: DaemonOptions
        @Argument var id: String
        @Argument var resource: String
        func run() throws {
            print(try daemon.client().call("POST", "/api/v1/devices/\(percentEncode(id))", body: ["resource": JSON(resource)]).serialized())
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disconnect a device at once and refuse it until enabled.")
        @OptionGroup var daemon: DaemonOptions
        @Argument var id: String
        func run() throws { print(try daemon.client().callAndWait("POST", "/api/v1/devices/\(percentEncode(id))/disable").serialized()) }
    }

    struct Enable: ParsableCommand {
        @OptionGroup var daemon: DaemonOptions
        @Argument var id: String
        func run() throws { print(try daemon.client().callAndWait("POST", "/api/v1/devices/\(percentEncode(id))/enable").serialized()) }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a device a new broker password (sent to it first).")
        @OptionGroup var daemon: DaemonOptions
        @Argument var id: String
        func run() throws { print(try daemon.client().callAndWait("POST", "/api/v1/devices/\(percentEncode(id))/rotate").serialized()) }
    }

    struct Unpair: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a device and its broker account (disconnects it at once).")
        @OptionGroup var daemon: DaemonOptions
        @Argument var id: String
        func run() throws { print(try daemon.client().callAndWait("DELETE", "/api/v1/devices/\(percentEncode(id))").serialized()) }
    }

    struct Replace: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A new panel (showing CODE) takes ID's room and settings; ID's account is revoked at once.")
        @OptionGroup var daemon: DaemonOptions
        @Argument var id: String
        @Argument var code: String
        @Flag(name: .shortAndLong, help: "Do not ask to confirm the fingerprint.") var yes = false
        func run() throws {
            try confirmAndPair(daemon.client(), path: "/api/v1/devices/\(percentEncode(id))/replace",
                               body: ["code": JSON(code)], yes: yes)
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pre-provision a device (production lines; no code).")
        @OptionGroup var daemon: DaemonOptions
        @Argument var id: String
        @Option var kind: String
        @Option var resource: String
        @Option var name: String?
        func run() throws {
            var body: JSONObject = ["id": JSON(id), "kind": JSON(kind), "resource": JSON(resource)]
            if let name { body["name"] = JSON(name) }
            print(try daemon.client().call("POST", "/api/v1/devices", body: .object(body)).serialized())
        }
    }
}
