import ArgumentParser
import FleetJSON

#if canImport(Glibc)
import Glibc
#endif

/// `fleet-controller authorize --badge X | --email X | --user-id X [--device ID] [--action checkin]`
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

/// `fleet-controller users search Q` / `users show ID-OR-EMAIL` / `users block|allow|restore|purge …`
struct UsersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Look people up in the cache; block, allow, restore, purge.",
        subcommands: [Search.self, Show.self, Block.self, Allow.self, Restore.self, Purge.self])

    struct Block: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse every credential of a person now (a lost badge), offline.")
        @OptionGroup var daemon: DaemonOptions
        @Argument var idOrEmail: String
        @Option(help: "When the block ends: 8h, 2d, 30m or unix seconds (default: until restored).") var until: String?
        @Option var note: String?
        func run() throws {
            var body: JSON = [:]
            if let until { body = ["until": JSON(try UsersCommand.time(until))] }
            if let note, case .object(var o) = body { o["note"] = JSON(note); body = .object(o) }
            print(try daemon.client().call("POST", "/api/v1/users/\(percentEncode(idOrEmail))/block", body: body).serialized())
        }
    }

    struct Allow: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a person in although the directory says inactive, until a time.")
        @OptionGroup var daemon: DaemonOptions
        @Argument var idOrEmail: String
        @Option(help: "When the pass ends: 8h, 2d, 30m or unix seconds.") var until: String
        @Option var note: String?
        func run() throws {
            let body: JSON = ["until": JSON(try UsersCommand.time(until)), "note": JSON(note)]
            print(try daemon.client().call("POST", "/api/v1/users/\(percentEncode(idOrEmail))/allow", body: body).serialized())
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a person's local overrides: the directory decides again.")
        @OptionGroup var daemon: DaemonOptions
        @Argument var idOrEmail: String
        func run() throws {
            print(try daemon.client().call("POST", "/api/v1/users/\(percentEncode(idOrEmail))/restore").serialized())
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an inactive person now, or every inactive person (no argument), instead of waiting for retention.")
        @OptionGroup var daemon: DaemonOptions
        @Argument var idOrEmail: String?
        func run() throws {
            let path = idOrEmail.map { "/api/v1/users/\(percentEncode($0))/purge" } ?? "/api/v1/users/purge"
            print(try daemon.client().call("POST", path).serialized())
        }
    }

    /// `8h`, `2d`, `30m`, `90s` from now, or absolute unix seconds.
    static func time(_ text: String) throws -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let unit = text.last.flatMap({ units[$0] }), let n = Double(text.dropLast()), n > 0 {
            return Double(Glibc.time(nil)) + n * unit
        }
        if let absolute = Double(text), absolute > 1_000_000_000 { return absolute }
        throw ValidationError("--until: expected 8h, 2d, 30m, 90s or unix seconds, not \"\(text)\"")
    }

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

/// `fleet-controller audit [--admin] [--limit N]`: door decisions (or admin actions), newest first.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Door decisions or admin actions, newest first.")
    @OptionGroup var daemon: DaemonOptions
    @Flag(help: "Admin actions (block, allow, restore, purge) instead of door decisions.") var admin = false
    @Option var limit: Int = 50
    func run() throws {
        print(try daemon.client().call("GET", "/api/v1/audit?limit=\(limit)" + (admin ? "&kind=admin" : "")).serialized())
    }
}

/// `fleet-controller sync [run] [--source NAME] [--force]`, `sync runs`, `sync plan`,
/// `sync apply ID [--force]`, `sync pause`, `sync resume`.
///
/// Exit codes: 0 applied (or nothing to do), 1 failed, 3 held for confirmation.
struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Directory synchronisation.",
        subcommands: [Run.self, Runs.self, Plan.self, Apply.self, Pause.self, Resume.self], defaultSubcommand: Run.self)

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sync now and wait for the outcome.")
        @OptionGroup var daemon: DaemonOptions
        @Option var source: String?
        @Flag(help: "Apply a run even if it would deactivate more than the allowed share.") var force = false
        @Flag(name: .customLong("no-wait"), help: "Return as soon as the run started.") var noWait = false
        @Flag(help: "Graph sources: read only the changes since the last run (/users/delta).") var delta = false

        func run() throws {
            var q: [String] = []
            if let source { q.append("source=\(percentEncode(source))") }
            if force { q.append("force=1") }
            if delta { q.append("delta=1") }
            let client = try daemon.client()
            var runs = try client.call("POST", "/api/v1/sync" + (q.isEmpty ? "" : "?" + q.joined(separator: "&")))["runs"]?.array ?? []
            if !noWait {
                runs = try runs.map { run in
                    guard run["status"] == "running", let id = run["id"]?.int else { return run }
                    return try SyncCommand.poll(client, "/api/v1/sync/runs/\(id)")
                }
            }
            print(JSON.object(["runs": .array(runs)]).serialized())
            if runs.contains(where: { $0["status"] == "failed" }) { throw ExitCode(1) }
            if runs.contains(where: { $0["status"] == "held" }) { throw ExitCode(3) }
        }
    }

    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recent runs, newest first.")
        @OptionGroup var daemon: DaemonOptions
        @Option var source: String?
        @Option var limit: Int = 20
        func run() throws {
            var path = "/api/v1/sync/runs?limit=\(limit)"
            if let source { path += "&source=\(percentEncode(source))" }
            print(try daemon.client().call("GET", path).serialized())
        }
    }

    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the source and show adds, deactivations and role changes without applying them.")
        @OptionGroup var daemon: DaemonOptions
        @Option var source: String?
        func run() throws {
            let client = try daemon.client()
            let path = "/api/v1/sync?plan=1" + (source.map { "&source=\(percentEncode($0))" } ?? "")
            let plans = try client.call("POST", path)["plans"]?.array ?? []
            let done = try plans.map { plan in
                guard plan["status"] == "running", let id = plan["id"]?.int else { return plan }
                return try SyncCommand.poll(client, "/api/v1/sync/plans/\(id)")
            }
            print(JSON.object(["plans": .array(done)]).serialized())
            if done.contains(where: { $0["status"] == "failed" || $0["plan"]?["verdict"] == "failed" }) { throw ExitCode(1) }
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Confirm a held run: apply the answer it held back (--force), after checking it.")
        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "The held run's id (`sync runs`).") var id: Int
        @Flag(help: "Apply it; without this flag the held run is only shown.") var force = false
        func run() throws {
            let client = try daemon.client()
            guard force else {
                let run = try client.call("GET", "/api/v1/sync/runs/\(id)")
                print(run.serialized())
                printError(run["status"] == "held"
                           ? "run \(id) is held: \(run["reason"]?.string ?? ""). Check `sync plan`, then run `sync apply \(id) --force`."
                           : "run \(id) is \(run["status"]?.string ?? "unknown"); only a held run can be applied")
                throw ExitCode(run["status"] == "held" ? 3 : 1)
            }
            var run = try client.call("POST", "/api/v1/sync/runs/\(id)/apply")
            // A large answer is staged in slices: wait for it like `sync run` does.
            if run["status"] == "running" { run = try SyncCommand.poll(client, "/api/v1/sync/runs/\(id)") }
            print(run.serialized())
            if run["status"] != "succeeded" {
                printError("run \(id) was not applied: \(run["reason"]?.string ?? "")")
                throw ExitCode(1)
            }
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop scheduled and manual syncs (the cache keeps serving).")
        @OptionGroup var daemon: DaemonOptions
        func run() throws { print(try daemon.client().call("POST", "/api/v1/sync/pause").serialized()) }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let syncs run again.")
        @OptionGroup var daemon: DaemonOptions
        func run() throws { print(try daemon.client().call("POST", "/api/v1/sync/resume").serialized()) }
    }

    /// Polls a run or plan until it is no longer running (a Graph read of a large tenant takes a while).
    static func poll(_ client: AdminClient, _ path: String, limitSeconds: Int = 900) throws -> JSON {
        var waited = 0
        while true {
            let state = try client.call("GET", path)
            guard state["status"] == "running", waited < limitSeconds * 4 else { return state }
            usleep(250_000)
            waited += 1
        }
    }
}
