import ArgumentParser
import FleetJSON

/// `fleet-controller status`
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the running daemon's status.")
    @OptionGroup var daemon: DaemonOptions

    func run() throws { print(try daemon.client().call("GET", "/api/v1/status").serialized()) }
}
