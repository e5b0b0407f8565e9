import FleetLoop
import Glibc
import Logging
import MQTTBridge

/// One reactor and one MQTT connection, plus SIGINT/SIGTERM handled on the loop so an interrupted
/// run still flushes and prints its report.
final class BrokerSession {
    let reactor: Reactor
    let client: MQTTClient
    let address: BrokerAddress
    /// Set by SIGINT or SIGTERM; the running command checks it and winds down.
    private(set) var interrupted = false

    init(options: BrokerOptions, clientID: String, version: MQTTConfig.Version = .v5) throws {
        reactor = try Reactor()
        address = options.broker
        client = MQTTClient(reactor: reactor, config: options.mqttConfig(clientID: clientID, version: version),
                            logger: options.logger("device-sim"))
        for signal in [SIGINT, SIGTERM] {
            try reactor.onSignal(signal) { [unowned self] in self.interrupted = true }
        }
    }

    /// Connects and waits for the CONNACK and every SUBACK of subscriptions made so far.
    func connect(timeout: Duration = .seconds(10)) throws {
        client.start()
        let ready = try reactor.run(until: { [unowned self] in self.client.isReady || self.interrupted }, limit: timeout)
        guard ready, !interrupted else {
            if interrupted { throw SimError("connect \(address)", "interrupted") }
            // lastError already names the endpoint.
            throw SimError("broker not ready after \(timeout)", client.lastError ?? "no CONNACK/SUBACK from \(address)")
        }
    }

    /// Runs the loop until `done` holds, the process is interrupted or `limit` passes.
    func run(until done: () -> Bool, limit: Duration = .seconds(365 * 86_400)) throws {
        _ = try reactor.run(until: { done() || self.interrupted }, limit: limit)
    }

    /// Disconnects cleanly after QoS 1 messages in flight are acknowledged (up to `flushLimit`).
    func close(flushLimit: Duration = .seconds(5)) {
        client.stop(flushLimit: flushLimit)
    }

    /// A client id unique to this process, so two simulators never kick each other off the broker.
    static func clientID(_ role: String) -> String { "device-sim-\(role)-\(getpid())" }
}

@available(*, unavailable) extension BrokerSession: Sendable {}
