import ArgumentParser
import CFleetShims
import FleetLoop

/// `fleet-controller run [--config FILE]`: the daemon.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the daemon (the default).")

    @Option(name: .long, help: "TOML configuration file; without it the embedded defaults serve.")
    var config: String?

    func run() throws {
        let env = processEnvironment()
        let settings: Configuration
        do {
            settings = try config.map { try Configuration.load(path: $0, environment: env) }
                ?? Configuration.embeddedDefaults(environment: env)
        } catch {
            printError("configuration error: \(error)")
            throw ExitCode(78)  // EX_CONFIG: systemd will not restart-loop on it with RestartPreventExitStatus
        }
        JournalLogHandler.bootstrap(level: settings.logLevel, environment: env)
        let reactor = try Reactor()
        let daemon: Daemon
        do {
            daemon = try Daemon(config: settings, environment: env, reactor: reactor)
            try daemon.start()
        } catch {
            printError("fleet-controller cannot start: \(error)")
            throw ExitCode(1)
        }
        try reactor.run()
        withExtendedLifetime(daemon) {}
    }
}

func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// `fleet-controller check-config FILE`: parse and validate without starting anything.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config",
                                                    abstract: "Validate a configuration file and exit.")
    @Argument(help: "The TOML file.") var file: String

    func run() throws {
        do {
            let c = try Configuration.load(path: file, environment: processEnvironment())
            print("\(file): ok (\(c.sources.count) directory sources, \(c.devices.count) devices, \(c.sensors.count) sensors)")
        } catch {
            printError("\(error)")
            throw ExitCode(78)
        }
    }
}
