import ArgumentParser

/// The root command: each subcommand is one kind of simulated device (or a helper for scripts).
struct DeviceSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device-sim",
        abstract: "Simulated sensors and panels for the fleet controller, over MQTT.",
        discussion: """
            Every subcommand runs on one event loop with one MQTT connection. Broker addresses are \
            HOST:PORT or unix:/path/to/socket.
            """,
        subcommands: [SensorsCommand.self, PanelCommand.self, EncodeAM307Command.self, ResponderCommand.self, PairCommand.self]
    )
}
