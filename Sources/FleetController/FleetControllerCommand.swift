import ArgumentParser

/// `fleet-controller`: the daemon (`run`, also the default) and the tools around it.
@main
struct FleetControllerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet-controller",
        abstract: "Edge controller: offline directory, panel pairing and sensor ingest on one event loop.",
        version: FleetControllerVersion.string,
        subcommands: [RunCommand.self, DecodeCommand.self, StatusCommand.self, AuthorizeCommand.self,
                      UsersCommand.self, SyncCommand.self, AuditCommand.self, TelemetryCommand.self, DevicesCommand.self,
                      SensorsCommand.self, CheckConfigCommand.self, BrokerCommand.self, PairCommand.self, GatewaysCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
