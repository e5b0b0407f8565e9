import FleetJSON
import FleetLoop
import Logging
import MQTTBridge
import SensorIngest

/// Sensor gateways' topics → decoded, deduplicated readings in `telemetry.sqlite`, flushed once
/// per loop tick.
final class IngestFeature: Feature {
    let store: TelemetryStore
    let ingest: SensorIngest
    private let context: FeatureContext
    private var subscribed: Set<String> = []

    init(_ context: FeatureContext) throws {
        self.context = context
        store = try TelemetryStore(path: "\(context.config.stateDir)/telemetry.sqlite")
        ingest = SensorIngest(store: store, clock: context.reactor.clock, logger: Logger(label: "ingest"))
        try claim(context.config)
    }

    func start() {
        context.reactor.onTickEnd { [unowned self] in self.ingest.flush() }
        subscribe(context.config)
    }

    func reload(_ c: Configuration) throws {
        try claim(c)
        subscribe(c)
    }

    func shutdown() { ingest.flush() }

    /// Sensors from config. A model no decoder knows is a config error pointing at its line.
    private func claim(_ c: Configuration) throws {
        for s in ingest.sensors where !c.sensors.contains(where: { $0.devEUI == s.devEUI }) {
            ingest.unclaim(devEUI: s.devEUI)
        }
        for s in c.sensors {
            do {
                try ingest.claim(Sensor(devEUI: s.devEUI, vendor: s.vendor, model: s.model, resource: s.resource))
            } catch {
                throw ConfigError(file: c.file, line: s.line, key: "sensors", message: "\(error)")
            }
        }
    }

    /// Subscriptions are only ever added: the broker keeps our session's subscriptions anyway.
    private func subscribe(_ c: Configuration) {
        for sub in c.subscriptions where !subscribed.contains(sub.topic) {
            guard let format = EnvelopeFormat(rawValue: sub.format) else { continue }
            subscribed.insert(sub.topic)
            context.mqtt.subscribe(sub.topic, qos: 1) { [unowned self] m in
                self.ingest.handle(topic: m.topic, payload: m.payload, format: format)
            }
        }
    }

    func registerRoutes(_ r: inout Router) {
        r.add("GET", "/api/v1/telemetry") { [unowned self] req, _ in self.telemetry(req) }
        r.add("GET", "/api/v1/sensors") { [unowned self] _, _ in self.sensors() }
        r.add("GET", "/api/v1/sensors/discovered") { [unowned self] _, _ in self.discovered() }
    }

    private func telemetry(_ req: HTTPServerRequest) -> HTTPServerResponse {
        var kind: ReadingKind?
        if let k = req.query["kind"] {
            guard let parsed = ReadingKind(rawValue: k) else {
                return .error(400, "bad_request", "unknown kind \(k); known: \(ReadingKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            kind = parsed
        }
        do {
            let rows = try store.series(
                sensor: req.query["sensor"]?.uppercased(), resource: req.query["resource"], kind: kind,
                from: req.query["from"].flatMap(Double.init), to: req.query["to"].flatMap(Double.init),
                limit: req.intQuery("limit", default: 1000, range: 1...10_000))
            return .json(200, ["readings": .array(rows.map(\.json))])
        } catch {
            return .error(500, "store_error", "\(error)")
        }
    }

    private func sensors() -> HTTPServerResponse {
        let out: [JSON] = ingest.sensors.map { s in
            let latest = (try? store.latest(sensor: s.devEUI)) ?? []
            return ["dev_eui": JSON(s.devEUI), "vendor": JSON(s.vendor), "model": JSON(s.model),
                    "resource": JSON(s.resource), "latest": .array(latest.map(\.json))]
        }
        return .json(200, ["sensors": .array(out)])
    }

    private func discovered() -> HTTPServerResponse {
        do {
            return .json(200, ["discovered": .array(try store.discovered().map { d in
                ["dev_eui": JSON(d.devEUI), "first_seen": JSON(d.firstSeen), "last_seen": JSON(d.lastSeen), "count": JSON(d.count)]
            })])
        } catch {
            return .error(500, "store_error", "\(error)")
        }
    }

    func writeMetrics(_ m: inout MetricsWriter) {
        let c = ingest.counters
        m.metric("fleet_ingest_messages_total", "counter", "Sensor messages by outcome.", [
            ("{outcome=\"received\"}", Double(c.received)), ("{outcome=\"duplicate\"}", Double(c.duplicates)),
            ("{outcome=\"dead_letter\"}", Double(c.deadLettered)), ("{outcome=\"unknown_device\"}", Double(c.unknownDevice)),
            ("{outcome=\"oversized\"}", Double(c.oversized)),
        ])
        m.counter("fleet_ingest_readings_stored_total", "Readings written to telemetry.sqlite.", Double(c.stored))
    }

    var status: [(String, JSON)] { [("sensors", JSON(ingest.sensors.count))] }
}

@available(*, unavailable) extension IngestFeature: Sendable {}
