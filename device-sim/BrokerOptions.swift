import ArgumentParser
import Logging
import MQTTBridge

/// Connection options every subcommand shares.
struct BrokerOptions: ParsableArguments {
    @Option(help: "Broker address: HOST:PORT or unix:/path/to/socket.")
    var broker = BrokerAddress(host: "127.0.0.1", port: 1883)

    @Option(help: "Broker username.")
    var username: String?

    @Option(help: "Broker password (visible to other local users in the process list; fine for tests).")
    var password: String?

    @Flag(help: "Log connection events.")
    var verbose = false

    func mqttConfig(clientID: String, version: MQTTConfig.Version = .v5) -> MQTTConfig {
        var config = MQTTConfig(clientID: clientID)
        config.host = broker.host
        config.port = broker.port
        config.username = username
        config.password = password
        config.protocolVersion = version
        // A simulator starts fresh each run: a durable session would replay a previous run's replies.
        config.sessionExpirySeconds = 0
        return config
    }

    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = verbose ? .info : .warning
        return logger
    }
}
