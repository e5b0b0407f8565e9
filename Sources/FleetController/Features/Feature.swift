import FleetJSON
import FleetLoop
import Logging
import MQTTBridge

/// One capability of the daemon (directory, devices, sensor ingest, …) with everything it adds:
/// its module's façade, HTTP routes, device operations over MQTT, timers, health, metrics and
/// status. The daemon owns the loop, the broker connection and the HTTP server; features plug in.
protocol Feature: AnyObject {
    /// Subscriptions and timers; called once, before the loop runs.
    func start()
    /// SIGHUP with a parsed, validated config. Throwing refuses the reload (the running config stays).
    func reload(_ config: Configuration) throws
    /// Flush what must not be lost; called on SIGTERM before the broker disconnects.
    func shutdown()
    /// What is wrong, in words an operator can act on; empty when healthy.
    var healthProblems: [String] { get }
    func registerRoutes(_ router: inout Router)
    func writeMetrics(_ m: inout MetricsWriter)
    /// Entries for `GET /api/v1/status`.
    var status: [(String, JSON)] { get }
}

extension Feature {
    func start() {}
    func reload(_ config: Configuration) throws {}
    func shutdown() {}
    var healthProblems: [String] { [] }
    func registerRoutes(_ router: inout Router) {}
    func writeMetrics(_ m: inout MetricsWriter) {}
    var status: [(String, JSON)] { [] }
}

/// What every feature may use.
struct FeatureContext {
    let reactor: Reactor
    /// Doors, panels and pairing: requests and their replies.
    let mqtt: MQTTClient
    /// Sensor gateways' uplinks, downlinks and the telemetry export, on their own broker session:
    /// the broker delivers one session's messages in order, so on a shared session a door's request
    /// would queue behind every uplink of a flood.
    let sensorMQTT: MQTTClient
    let requests: RequestRouter
    let config: Configuration
    let logger: Logger
}
