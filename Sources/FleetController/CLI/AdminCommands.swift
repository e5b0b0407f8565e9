import ArgumentParser
import FleetJSON

/// `fleet-controller status`
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the running daemon's status.")
    @OptionGroup var daemon: DaemonOptions

    func run() throws { print(try daemon.client().call("GET", "/api/v1/status").serialized()) }
}

/// `fleet-controller authorize --badge X | --email X [--device ID] [--action checkin]`
struct AuthorizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "authorize",
                                                    abstract: "Ask the daemon the decision a door would get.")
    @OptionGroup var daemon: DaemonOptions
    @Option var badge: String?
    @Option var email: String?
    @Option(name: .customLong("user-id")) var userID: String?
    @Option var device: String = "cli"
    @Option var action: String = "checkin"

    func validate() throws {
        guard [badge, email, userID].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --badge, --email, --user-id")
        }
    }

    func run() throws {
        let (type, value) = badge.map { ("badge", $0) } ?? email.map { ("email", $0) } ?? ("user_id", userID!)
        let body: JSON = ["credential": ["type": JSON(type), "value": JSON(value)], "device_id": JSON(device),
                          "action": JSON(action)]
        print(try daemon.client().call("POST", "/api/v1/authorize", body: body).serialized())
    }
}

/// `fleet-controller users search Q` / `users show ID-OR-EMAIL`
struct UsersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "users", abstract: "Look people up in the cache.",
                                                    subcommands: [Search.self, Show.self])

    struct Search: ParsableCommand {
        @OptionGroup var daemon: DaemonOptions
        @Argument var query: String = ""
        func run() throws { print(try daemon.client().call("GET", "/api/v1/users?q=\(percentEncode(query))").serialized()) }
    }

    struct Show: ParsableCommand {
        @OptionGroup var daemon: DaemonOptions
        @Argument var idOrEmail: String
        func run() throws { print(try daemon.client().call("GET", "/api/v1/users/\(percentEncode(idOrEmail))").serialized()) }
    }
}

/// `fleet-controller sync [run] [--source NAME] [--force]` / `sync runs`
struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync", abstract: "Directory synchronisation.",
                                                    subcommands: [Run.self, Runs.self], defaultSubcommand: Run.self)

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sync now.")
        @OptionGroup var daemon: DaemonOptions
        @Option var source: String?
        @Flag(help: "Apply a run even if it would deactivate more than the allowed share.") var force = false
        func run() throws {
            var q: [String] = []
            if let source { q.append("source=\(percentEncode(source))") }
            if force { q.append("force=1") }
            print(try daemon.client().call("POST", "/api/v1/sync" + (q.isEmpty ? "" : "?" + q.joined(separator: "&"))).serialized())
        }
    }

    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recent runs, newest first.")
        @OptionGroup var daemon: DaemonOptions
        func run() throws { print(try daemon.client().call("GET", "/api/v1/sync/runs").serialized()) }
    }
}
