import FleetJSON
import FleetLoop
import Logging
import MQTTBridge
import SensorIngest

/// Sensor gateways' topics → decoded, deduplicated readings in `telemetry.sqlite`, flushed once
/// per loop tick; then out again: MQTT telemetry topics, the HTTPS analytics export, DS3604
/// room displays. Retention prunes on a timer.
final class IngestFeature: Feature {
    let store: TelemetryStore
    let ingest: SensorIngest
    private let context: FeatureContext
    private var config: Configuration
    private var subscribed: Set<String> = []
    private let logger = Logger(label: "ingest")
    private let retention: TelemetryRetention
    private var exporter: TelemetryExporter?
    private var http: HTTPClient?
    private var publishDropped = 0
    private var displaysPushed = 0
    /// The frame last sent to each display, so an unchanged room sends nothing.
    private var displayShown: [String: [UInt8]] = [:]
    /// DS3604 displays by resource, rebuilt when the claims change.
    private var displays: [String: [Sensor]] = [:]
    private var displaysVersion = -1

    /// The envelope format and time zone of a registered gateway, from the topic it published on
    /// (`<prefix>/ingest/<gateway>/…`); nil for a gateway nobody registered.
    private let gateway: (String) -> (format: String, timeZone: String?)?
    /// Gateway zones as read once: a zone name means a tzfile, too slow to open per message.
    private var gatewayZones: [String: LocalTimeZone] = [:]
    /// Telemetry waiting for room in the broker client's bulk window.
    private var exportQueue: [MQTTMessage] = []
    private static let exportQueueLimit = 50_000

    init(_ context: FeatureContext, gateway: @escaping (String) -> (format: String, timeZone: String?)? = { _ in nil }) throws {
        self.context = context
        self.gateway = gateway
        config = context.config
        store = try TelemetryStore(path: "\(context.config.stateDir)/telemetry.sqlite")
        ingest = SensorIngest(store: store, clock: context.reactor.clock, logger: logger)
        ingest.loadStoredClaims()
        ingest.restorePermit()
        retention = TelemetryRetention(store: store, reactor: context.reactor, settings: Self.retention(context.config),
                                       logger: logger)
        try claim(context.config)
        if let url = context.config.ingest.exportURL {
            var settings = TelemetryExporter.Settings(url: url, token: nil, site: context.config.site)
            if let file = context.config.ingest.exportTokenFile {
                settings.token = try StateFiles.secret(file)
            }
            settings.batchSize = context.config.ingest.exportBatch
            let http = HTTPClient(reactor: context.reactor)
            self.http = http
            exporter = TelemetryExporter(store: store, http: http, reactor: context.reactor, settings: settings,
                                         logger: logger)
        }
    }

    func start() {
        _ = context.reactor.onTickEnd { [unowned self] in self.ingest.flushIfDue() }
        // A quiet loop has no further ticks to end: the timer commits the last small batch.
        _ = context.reactor.every(.milliseconds(25)) { [unowned self] in self.ingest.flushIfDue() }
        // telemetry.sqlite is checkpointed from here, between commits, never inside one: once
        // writes pause, or every 2 MB of WAL during a flood (see SensorIngest.checkpoint()). Looked
        // at often, so that a flood's WAL is copied back in steps of 2 MB, not 5.
        _ = context.reactor.every(.milliseconds(20)) { [unowned self] in self.ingest.checkpoint() }
        ingest.onCommitted = { [unowned self] readings in
            if self.config.ingest.publishTelemetry { self.publish(readings) }
            self.exporter?.kick()
        }
        ingest.onOccupancyChanged = { [unowned self] resource, state in self.pushDisplays(resource, state) }
        context.sensorMQTT.onBulkWindowOpen = { [unowned self] in self.pumpExport() }
        subscribe(context.config)
        subscribeGateways()
        retention.start()
        do { try exporter?.start() } catch {
            logger.error("analytics export not started: cannot read its cursor", metadata: ["error": "\(error)"])
        }
    }

    func reload(_ c: Configuration) throws {
        try claim(c)
        subscribe(c)
        retention.settings = Self.retention(c)
        config = c
    }

    func shutdown() {
        ingest.flush()
        exporter?.stop()
        retention.stop()
    }

    private static func retention(_ c: Configuration) -> TelemetryRetention.Settings {
        var s = TelemetryRetention.Settings()
        s.raw = c.ingest.rawRetentionDays * 86_400
        s.rollups = c.ingest.rollupRetentionDays * 86_400
        return s
    }

    /// Sensors from config. A model no decoder knows is a config error pointing at its line.
    /// A config claim that left the file goes back to what the API stored, if anything.
    private func claim(_ c: Configuration) throws {
        let inFile = Set(c.sensors.compactMap { SensorIngest.canonicalDeviceID($0.devEUI) })
        for s in ingest.sensors where ingest.claimOrigin(s.devEUI) == .config && !inFile.contains(s.devEUI) {
            ingest.unclaim(devEUI: s.devEUI)
        }
        for s in c.sensors {
            do {
                try ingest.claim(Sensor(devEUI: s.devEUI, vendor: s.vendor, model: s.model, resource: s.resource,
                                        name: s.name, lines: s.lines))
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
            let options = EnvelopeOptions(localTimeZone: sub.timeZone.flatMap { LocalTimeZone($0) })
            context.sensorMQTT.subscribe(sub.topic, qos: 1) { [unowned self] m in
                self.ingest.handle(topic: m.topic, payload: m.payload, format: format, options: options)
            }
        }
    }

    /// Registered gateways publish under `<prefix>/ingest/<gateway>/…` with their own accounts;
    /// each message is read with the format the gateway was registered with.
    private func subscribeGateways() {
        context.sensorMQTT.subscribe("\(config.broker.topicPrefix)/ingest/+/#", qos: 1) { [unowned self] m in
            guard let gateway = self.gateway(m.topic), let format = EnvelopeFormat(rawValue: gateway.format) else {
                self.ingest.rejectUnroutable(topic: m.topic, payload: m.payload, cause: "unknown-gateway",
                    reason: "no gateway is registered for \(m.topic); add it with `fleet-controller gateways add NAME --format F`")
                return
            }
            self.ingest.handle(topic: m.topic, payload: m.payload, format: format,
                               options: EnvelopeOptions(localTimeZone: gateway.timeZone.flatMap(self.gatewayZone)))
        }
    }

    private func gatewayZone(_ name: String) -> LocalTimeZone? {
        if let zone = gatewayZones[name] { return zone }
        let zone = LocalTimeZone(name)  // checked when the gateway was added
        if gatewayZones.count >= 64 { gatewayZones.removeAll() }
        gatewayZones[name] = zone
        return zone
    }

    // MARK: - Out

    /// Every reading to `<prefix>/telemetry/<site>/<resource>/<kind>` at QoS 1, through the broker
    /// client's bulk window: a backlog waits here (bounded) instead of lengthening libmosquitto's
    /// queue, which would make each socket read run thousands of handlers.
    private func publish(_ readings: [Reading]) {
        let base = "\(config.broker.topicPrefix)/telemetry/\(config.site)/"
        for r in readings {
            guard exportQueue.count < Self.exportQueueLimit else { publishDropped += 1; continue }
            exportQueue.append(MQTTMessage(topic: base + r.resource + "/" + r.kind.rawValue, payload: r.json.bytes, qos: 1))
        }
        pumpExport()
    }

    private func pumpExport() {
        var sent = 0
        while sent < exportQueue.count, context.sensorMQTT.publishBulk(exportQueue[sent]) { sent += 1 }
        exportQueue.removeFirst(sent)
    }

    /// Sends each DS3604 claimed to `resource` its room name and occupancy, when the frame changed.
    private func pushDisplays(_ resource: String, _ state: OccupancyTracker.State) {
        if displaysVersion != ingest.claimsVersion {
            displaysVersion = ingest.claimsVersion
            displays = Dictionary(grouping: ingest.sensors.filter { $0.model.uppercased() == "DS3604" }, by: \.resource)
        }
        guard let displays = displays[resource], let template = config.ingest.downlinkTopic else { return }
        for display in displays {
            let name = display.name ?? String(resource.split(separator: "/").last ?? Substring(resource))
            let frame = DS3604Downlink.room(name: name, status: DS3604Downlink.statusText(state))
            guard displayShown[display.devEUI] != frame else { continue }
            displayShown[display.devEUI] = frame
            let message = DS3604Downlink.gatewayMessage(devEUI: display.devEUI, payload: frame)
            if context.sensorMQTT.publish(MQTTMessage(topic: DS3604Downlink.topic(template, devEUI: display.devEUI),
                                                payload: message.bytes, qos: 1)) {
                displaysPushed += 1
            }
        }
    }

    // MARK: - HTTP

    func registerRoutes(_ r: inout Router) {
        r.add("GET", "/api/v1/telemetry") { [unowned self] req, _ in self.telemetry(req) }
        r.add("GET", "/api/v1/sensors") { [unowned self] _, _ in self.view { try self.ingest.sensorsJSON() } }
        r.add("POST", "/api/v1/sensors") { [unowned self] req, _ in self.claimFromAPI(req) }
        r.add("GET", "/api/v1/sensors/discovered") { [unowned self] _, _ in self.view { try self.ingest.discoveredJSON() } }
        r.add("GET", "/api/v1/sensors/dead-letters") { [unowned self] req, _ in
            self.view { try self.ingest.deadLettersJSON(limit: req.intQuery("limit", default: 100, range: 1...1000)) }
        }
        r.add("GET", "/api/v1/sensors/permit") { [unowned self] _, _ in .json(200, self.ingest.permitJSON()) }
        r.add("POST", "/api/v1/sensors/permit") { [unowned self] req, _ in self.openPermit(req) }
        r.add("DELETE", "/api/v1/sensors/permit") { [unowned self] _, _ in
            if let error = self.ingest.closePermit() {
                return .error(500, "store_error", "the window is closed until a restart, which would reopen it until "
                              + "it expires: telemetry.sqlite refused the change (\(error)); check the state directory's disk")
            }
            return .json(200, self.ingest.permitJSON())
        }
        r.add("DELETE", "/api/v1/sensors/{id}") { [unowned self] _, p in self.unclaimFromAPI(p["id"] ?? "") }
        r.add("GET", "/api/v1/occupancy") { [unowned self] _, _ in .json(200, self.ingest.occupancyJSON()) }
    }

    private func view(_ body: () throws -> JSON) -> HTTPServerResponse {
        do { return .json(200, try body()) } catch { return .error(500, "store_error", "\(error)") }
    }

    private func telemetry(_ req: HTTPServerRequest) -> HTTPServerResponse {
        var kind: ReadingKind?
        if let k = req.query["kind"] {
            guard let parsed = ReadingKind(rawValue: k) else {
                return .error(400, "bad_request", "unknown kind \(k); known: \(ReadingKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            kind = parsed
        }
        var bucket: RollupBucket?
        if let b = req.query["bucket"], b != "raw" {
            guard let parsed = RollupBucket(rawValue: b) else {
                return .error(400, "bad_request", "unknown bucket \(b); use raw, 15m or 1h")
            }
            bucket = parsed
        }
        var times: [Double?] = []
        for name in ["from", "to"] {
            guard let text = req.query[name] else { times.append(nil); continue }
            guard let t = Double(text) else { return .error(400, "bad_request", "\(name) must be Unix seconds, got \(text)") }
            times.append(t)
        }
        let sensor = req.query["sensor"].map { SensorIngest.canonicalDeviceID($0) ?? $0 }
        return view {
            try ingest.telemetryJSON(sensor: sensor, resource: req.query["resource"], kind: kind, from: times[0], to: times[1],
                                     bucket: bucket, limit: req.intQuery("limit", default: 1000, range: 1...10_000))
        }
    }

    private func claimFromAPI(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let (body, problem) = req.jsonBody()
        guard let body else { return problem! }
        guard let id = (body["dev_eui"] ?? body["id"])?.string, let vendor = body["vendor"]?.string,
              let model = body["model"]?.string, let resource = body["resource"]?.string else {
            return .error(400, "bad_request",
                          "expected {\"dev_eui\",\"vendor\",\"model\",\"resource\"[,\"name\"][,\"lines\":[1,2]]}")
        }
        let (lines, badLines) = Self.lines(body)
        if let badLines { return badLines }
        if let existing = SensorIngest.canonicalDeviceID(id), ingest.claimOrigin(existing) == .config {
            return .error(409, "claimed_in_config", "\(existing) is claimed in \(config.file); change it there")
        }
        do {
            try ingest.claim(Sensor(devEUI: id, vendor: vendor, model: model, resource: resource, name: body["name"]?.string,
                                    lines: lines), origin: .api)
        } catch {
            return .error(400, "bad_request", "\(error)")
        }
        return .json(201, ["claimed": JSON(SensorIngest.canonicalDeviceID(id) ?? id)])
    }

    /// A body's optional `"lines"` list (range and model checked by the claim or window), or the
    /// 400 for a value that is not a list of whole numbers.
    private static func lines(_ body: JSON) -> (lines: [Int]?, problem: HTTPServerResponse?) {
        guard let given = body["lines"], given != .null else { return (nil, nil) }
        guard let list = given.array?.compactMap(lineNumber), list.count == given.array?.count else {
            return (nil, .error(400, "bad_request", "lines must be a list of line numbers 1 to 4, e.g. [1, 2]"))
        }
        return (list, nil)
    }

    /// A whole JSON number as a line number (range checked by the claim).
    private static func lineNumber(_ value: JSON) -> Int? {
        guard let number = value.double, number.rounded() == number, abs(number) < 1_000 else { return nil }
        return Int(number)
    }

    private func unclaimFromAPI(_ id: String) -> HTTPServerResponse {
        let device = SensorIngest.canonicalDeviceID(id) ?? id
        if ingest.claimOrigin(device) == .config {
            return .error(409, "claimed_in_config", "\(device) is claimed in \(config.file); remove it there and reload")
        }
        guard ingest.unclaim(devEUI: device) else { return .error(404, "not_found", "no claimed sensor \(device)") }
        return .json(200, ["unclaimed": JSON(device)])
    }

    private func openPermit(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let (body, problem) = req.jsonBody()
        guard let body else { return problem! }
        guard let model = body["model"]?.string, let resource = body["resource"]?.string else {
            return .error(400, "bad_request",
                          "expected {\"model\",\"resource\"[,\"vendor\",\"seconds\"][,\"lines\":[1,2]]}")
        }
        let (lines, badLines) = Self.lines(body)
        if let badLines { return badLines }
        do {
            try ingest.openPermit(vendor: body["vendor"]?.string ?? "milesight", model: model, resource: resource,
                                  seconds: body["seconds"]?.double ?? 180, lines: lines)
        } catch {
            return .error(400, "bad_request", "\(error)")
        }
        return .json(200, ingest.permitJSON())
    }

    // MARK: - Health, metrics

    var healthProblems: [String] {
        var problems: [String] = []
        if let e = exporter, e.stats.consecutiveFailures >= 5 {
            problems.append("analytics export failing (\(e.stats.consecutiveFailures) attempts: \(e.stats.lastError ?? "?")); "
                            + "readings wait in telemetry.sqlite and go out once \(config.ingest.exportURL ?? "") answers")
        }
        if config.ingest.downlinkTopic == nil, ingest.sensors.contains(where: { $0.model.uppercased() == "DS3604" }) {
            problems.append("a DS3604 display is claimed but [ingest] downlink_topic is not set; displays are not updated")
        }
        return problems
    }

    func writeMetrics(_ m: inout MetricsWriter) {
        let c = ingest.counters
        m.metric("fleet_ingest_messages_total", "counter", "Sensor messages by outcome.", [
            ("{outcome=\"received\"}", Double(c.received)), ("{outcome=\"duplicate\"}", Double(c.duplicates)),
            ("{outcome=\"dead_letter\"}", Double(c.deadLettered)), ("{outcome=\"unknown_device\"}", Double(c.unknownDevice)),
            ("{outcome=\"oversized\"}", Double(c.oversized)), ("{outcome=\"presence\"}", Double(c.presence)),
        ])
        m.counter("fleet_ingest_readings_stored_total", "Readings written to telemetry.sqlite.", Double(c.stored))
        m.counter("fleet_ingest_wal_checkpoints_total", "WAL checkpoints of telemetry.sqlite.", Double(ingest.checkpoints.count))
        m.gauge("fleet_ingest_wal_frames", "Frames in the telemetry WAL at the last checkpoint.",
                Double(ingest.checkpoints.lastLogFrames))
        m.counter("fleet_ingest_permit_claims_total", "Sensors claimed by a claim window.", Double(c.permitClaims))
        m.counter("fleet_ingest_retention_deleted_total", "Rows removed by retention.", Double(retention.removed))
        m.counter("fleet_telemetry_publish_dropped_total", "Telemetry messages the MQTT client refused.", Double(publishDropped))
        m.counter("fleet_display_downlinks_total", "DS3604 frames sent.", Double(displaysPushed))
        if let e = exporter {
            m.counter("fleet_export_readings_total", "Readings confirmed by the analytics endpoint.", Double(e.stats.readingsSent))
            m.counter("fleet_export_failures_total", "Failed export attempts.", Double(e.stats.failures))
            m.gauge("fleet_export_backlog", "Readings waiting for the analytics endpoint.", Double(e.backlog))
        }
    }

    var status: [(String, JSON)] { [("sensors", JSON(ingest.sensors.count))] }
}

@available(*, unavailable) extension IngestFeature: Sendable {}
