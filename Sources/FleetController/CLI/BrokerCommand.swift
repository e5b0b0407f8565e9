import ArgumentParser
import CFleetShims
import DevicePairing
import FleetJSON
import FleetLoop
import Glibc
import Logging
import MQTTBridge

/// `fleet-controller broker init --dir DIR [--port P]`: a mosquitto set up for pairing.
struct BrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "broker", abstract: "Set up the mosquitto broker.",
                                                    subcommands: [Init.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a mosquitto config with the dynamic-security plugin and create its accounts.",
            discussion: """
                Writes DIR/mosquitto.conf and DIR/dynamic-security.json with three accounts: fc-admin \
                (dynsec admin, used by the controller to create device accounts), fc-controller (the \
                controller's own) and fc-pairing (panels may only publish their hello with it); \
                everything else is denied by default. Passwords go to DIR/*.secret (0600). Prints the \
                lines for the controller's config.
                """)
        @Option(help: "Directory for the broker's config, accounts, data and secrets.") var dir: String
        @Option(help: "TCP port on 127.0.0.1 (never the system broker's 1883 for tests).") var port: Int = 1883
        @Option(help: "Also listen on this Unix socket.") var socket: String?
        @Option(help: "Topic prefix, as [broker] topic_prefix.") var prefix = "fc/v1"
        @Option(help: "The dynamic-security plugin.") var plugin = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
        @Option(help: "mosquitto binary (run briefly to create the accounts).") var mosquitto = "/usr/sbin/mosquitto"
        @Option(help: "User the broker runs as (default: root when run as root, else mosquitto's default).") var user: String?

        func run() throws {
            for (path, what) in [(plugin, "dynamic-security plugin"), (mosquitto, "mosquitto"), ("/usr/bin/mosquitto_ctrl", "mosquitto_ctrl")]
            where access(path, X_OK) != 0 && access(path, R_OK) != 0 {
                fail("\(what) not found at \(path); install the Debian packages mosquitto and mosquitto-clients")
            }
            let dir = dir.hasSuffix("/") ? String(dir.dropLast()) : dir
            do { try StateFiles.ensureDirectory("\(dir)/data") } catch { fail("\(error)") }
            let dynsecFile = "\(dir)/dynamic-security.json"
            if access(dynsecFile, F_OK) == 0 {
                fail("\(dynsecFile) exists: this broker is already set up. Remove the directory's files to start over.")
            }
            let admin = ("fc-admin", randomSecret()), controller = ("fc-controller", randomSecret())
            let bootstrap = ("fc-pairing", randomSecret())
            for (name, secret) in [("admin", admin.1), ("controller", controller.1), ("bootstrap", bootstrap.1)] {
                writeSecret("\(dir)/\(name).secret", secret)
            }
            let runAs = user ?? (geteuid() == 0 ? "root" : nil)
            let config = BrokerConfig(dir: dir, port: port, socket: socket, plugin: plugin, user: runAs)
            writeText("\(dir)/mosquitto.conf", config.text)

            // mosquitto_ctrl writes the file with the admin account (it refuses to overwrite one);
            // the rest goes through the plugin's own API on a short-lived private broker.
            let ctrl = spawnAndWait("/usr/bin/mosquitto_ctrl", ["dynsec", "init", dynsecFile, admin.0, admin.1], log: "\(dir)/init.log")
            guard ctrl == 0 else { fail("mosquitto_ctrl dynsec init exited \(ctrl); see \(dir)/init.log") }
            let initSocket = "\(dir)/init.sock"
            writeText("\(dir)/init.conf", BrokerConfig(dir: dir, port: nil, socket: initSocket, plugin: plugin, user: runAs,
                                                       persistence: false).text)
            let pid = spawn(mosquitto, ["-c", "\(dir)/init.conf"], log: "\(dir)/init.log")
            defer {
                kill(pid, SIGTERM)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                unlink("\(dir)/init.conf")
                unlink(initSocket)
            }
            do {
                try configure(socket: initSocket, admin: admin, commands: DynsecCommands.initialSetup(
                    prefix: prefix, controller: controller, bootstrap: bootstrap))
            } catch {
                fail("\(error); see \(dir)/init.log")
            }
            print("""
                Broker set up in \(dir). Start it with:
                  mosquitto -c \(dir)/mosquitto.conf

                Add to the controller's config:
                  [broker]
                  host = "127.0.0.1"
                  port = \(port)
                  username = "\(controller.0)"
                  password_file = "\(dir)/controller.secret"
                  admin_username = "\(admin.0)"
                  admin_password_file = "\(dir)/admin.secret"
                  topic_prefix = "\(prefix)"
                  [pairing]
                  bootstrap_username = "\(bootstrap.0)"

                Panels say hello on \(prefix)/pair/hello as \(bootstrap.0) with the password in \(dir)/bootstrap.secret.
                """)
        }

        /// Connects as the admin over the private socket and sends the setup in one message.
        private func configure(socket: String, admin: (String, String), commands: [JSON]) throws {
            let loop = try Reactor()
            var mc = MQTTConfig(clientID: "fleet-controller-broker-init")
            mc.host = socket
            mc.port = 0
            mc.username = admin.0
            mc.password = admin.1
            var logger = Logger(label: "broker-init")
            logger.logLevel = .error
            guard waitFor(seconds: 10, { access(socket, F_OK) == 0 }) else {
                throw PairingError(.brokerUnavailable, "broker init", "the private broker did not open \(socket)")
            }
            let client = DynsecClient(reactor: loop, config: mc, logger: logger)
            var ready = false
            client.onReady = { ready = true }
            client.start()
            _ = try loop.run(until: { ready }, limit: .seconds(10))
            guard ready else {
                throw PairingError(.brokerUnavailable, "broker init", "cannot connect as \(admin.0): \(client.lastError ?? "no answer")")
            }
            var result: Result<[DynsecResponse], PairingError>?
            client.send(commands, operation: "broker init") { result = $0 }
            _ = try loop.run(until: { result != nil }, limit: .seconds(10))
            client.stop()
            let answers = try (result ?? .failure(PairingError(.brokerUnavailable, "broker init", "no answer"))).get()
            if let bad = answers.first(where: { $0.error != nil }) {
                throw PairingError(.brokerRefused, "broker init", "\(bad.command): \(bad.error!)")
            }
        }
    }
}

/// The mosquitto config `broker init` writes: the plugin loaded exactly once (twice fills the JSON
/// with duplicates on 2.0.11), settings global, persistence saved every minute, queues sized so a
/// slow consumer is noticed rather than silently dropped at the stock 1000, Nagle off.
struct BrokerConfig {
    var dir: String
    var port: Int?
    var socket: String?
    var plugin: String
    var user: String?
    var persistence = true

    var text: String {
        var lines = ["# Written by `fleet-controller broker init`. Load the dynamic-security plugin here only, once."]
        if let user { lines.append("user \(user)") }
        lines += [
            "per_listener_settings false",
            "allow_anonymous false",
            "plugin \(plugin)",
            "plugin_opt_config_file \(dir)/dynamic-security.json",
        ]
        if let port { lines.append("listener \(port) 127.0.0.1") }
        if let socket { lines.append("listener 0 \(socket)") }
        lines += [
            "# Nagle against delayed ACKs adds ~44 ms to every request/response hop.",
            "set_tcp_nodelay true",
            "persistence \(persistence)",
            "persistence_location \(dir)/data/",
            "autosave_interval 60",
            "# Factory-reset panels never come back for their durable sessions.",
            "persistent_client_expiration 30d",
            "max_queued_messages 5000",
            "max_queued_bytes 67108864",
            "max_packet_size 262144",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}

private func fail(_ message: String) -> Never {
    printError("broker init: \(message)")
    Glibc.exit(1)
}

private func writeText(_ path: String, _ text: String, mode: mode_t = 0o640) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { fail("cannot write \(path): \(String(cString: strerror(cfs_errno())))") }
    defer { close(fd) }
    fchmod(fd, mode)
    let bytes = Array(text.utf8)
    guard write(fd, bytes, bytes.count) == bytes.count else { fail("cannot write \(path)") }
}

private func writeSecret(_ path: String, _ secret: String) { writeText(path, secret + "\n", mode: 0o600) }

/// Starts `path` with output appended to `log`; a failure ends the command with the reason.
private func spawn(_ path: String, _ args: [String], log: String) -> pid_t {
    do { return try spawnProcess(path, args, logPath: log, logMode: 0o600) } catch { fail("cannot run \(path): \(error)") }
}

private func spawnAndWait(_ path: String, _ args: [String], log: String) -> Int32 {
    waitForExit(spawn(path, args, log: log)) ?? 1
}

/// Polls `condition` every 10 ms: for another process to open its socket.
private func waitFor(seconds: Double, _ condition: () -> Bool) -> Bool {
    for _ in 0..<Int(seconds * 100) {
        if condition() { return true }
        _ = poll(nil, 0, 10)
    }
    return condition()
}
