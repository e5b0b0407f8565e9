import DirectoryCache
import FleetJSON
import FleetLoop
import Logging
import MQTTBridge

/// The offline directory: sources synced on timers, decisions for doors and panels over MQTT and
/// HTTP, people lookups, sync runs.
final class DirectoryFeature: Feature {
    let cache: DirectoryCache
    private let context: FeatureContext
    private let devices: (String) -> DeviceContext?
    private var config: Configuration
    private var syncTimers: [TimerID] = []
    private(set) var lastSync: [String: SyncRunResult] = [:]

    init(_ context: FeatureContext, devices: @escaping (String) -> DeviceContext?) throws {
        self.context = context
        self.devices = devices
        config = context.config
        cache = DirectoryCache(store: try DirectoryStore(path: "\(context.config.stateDir)/directory.sqlite"),
                               clock: context.reactor.clock, logger: Logger(label: "directory"),
                               policy: Self.policy(context.config))
        installDeviceOps()
    }

    static func policy(_ c: Configuration) -> AuthorizationPolicy {
        AuthorizationPolicy(maxCacheAge: c.maxCacheAge.seconds,
                            stale: AuthorizationPolicy.StaleMode(rawValue: c.stalePolicy) ?? .denyAllButAdmin)
    }

    func start() { scheduleSyncs() }

    func reload(_ c: Configuration) throws {
        config = c
        cache.policy = Self.policy(c)
        scheduleSyncs()
    }

    // MARK: - Sources

    private func scheduleSyncs() {
        syncTimers.forEach(context.reactor.cancel)
        syncTimers = []
        for source in config.sources {
            runSync(source.name)
            syncTimers.append(context.reactor.every(source.interval) { [unowned self] in self.runSync(source.name) })
        }
    }

    @discardableResult
    func runSync(_ name: String, force: Bool = false) -> SyncRunResult? {
        guard let source = config.sources.first(where: { $0.name == name }), let path = source.path else { return nil }
        let result = cache.syncCSV(name: name, path: path, force: force)
        let previous = lastSync[name]
        lastSync[name] = result
        // Log a run's outcome when it changes, not every interval.
        if previous?.status != result.status || previous?.reason != result.reason {
            let log = context.logger
            switch result.status {
            case .succeeded: log.info("directory source \(name) synced", metadata: ["counts": "\(result.run.counts)"])
            case .held: log.warning("directory source \(name) held: \(result.reason ?? "")")
            default: log.error("directory source \(name) failed: \(result.reason ?? "")")
            }
        }
        return result
    }

    // MARK: - Device operations

    private func installDeviceOps() {
        context.requests.on("authorize") { [unowned self] req in
            guard let credential = Self.credential(from: req.body["credential"]) else {
                return ["error": "bad_request", "message": "credential must be {\"type\": \"badge|email|user_id\", \"value\": \"…\"}"]
            }
            let action = Action(rawValue: req.body["action"]?.string ?? "checkin")
            return self.cache.authorize(credential: credential, deviceID: req.deviceID, action: action,
                                        devices: self.devices).json()
        }
        context.requests.on("users.search") { [unowned self] req in
            guard self.devices(req.deviceID) != nil else { return ["error": "device_not_allowed", "message": "unknown device"] }
            let limit = min(max(req.body["limit"]?.int ?? 10, 1), 50)
            return ["users": .array(self.cache.search(prefix: req.body["q"]?.string ?? "", limit: limit).map { $0.json() })]
        }
    }

    static func credential(from json: JSON?) -> Credential? {
        guard let type = json?["type"]?.string.flatMap(Credential.Kind.init(rawValue:)),
              let value = json?["value"]?.string, !value.isEmpty, value.utf8.count <= 256 else { return nil }
        return Credential(type: type, value: value)
    }

    // MARK: - HTTP

    func registerRoutes(_ r: inout Router) {
        r.add("POST", "/api/v1/authorize") { [unowned self] req, _ in self.authorize(req) }
        r.add("GET", "/api/v1/users") { [unowned self] req, _ in
            let found = self.cache.search(prefix: req.query["q"] ?? "", limit: req.intQuery("limit", default: 20, range: 1...100))
            return .json(200, ["users": .array(found.map { $0.json() })])
        }
        r.add("GET", "/api/v1/users/{id}") { [unowned self] _, p in
            guard let u = self.cache.user(idOrEmail: p["id"]!) else {
                return .error(404, "not_found", "no user with id or email \(p["id"]!)")
            }
            return .json(200, u.json())
        }
        r.add("POST", "/api/v1/sync") { [unowned self] req, _ in self.sync(req) }
        r.add("GET", "/api/v1/sync/runs") { [unowned self] _, _ in
            do { return .json(200, ["runs": .array(try self.cache.store.runs(limit: 50).map { $0.json() })]) } catch {
                return .error(500, "store_error", "\(error)")
            }
        }
    }

    private func authorize(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let (parsed, failure) = req.jsonBody()
        guard let body = parsed else { return failure! }
        guard let credential = Self.credential(from: body["credential"]) else {
            return .error(400, "bad_request", "credential must be {\"type\": \"badge|email|user_id\", \"value\": \"…\"}")
        }
        guard let deviceID = body["device_id"]?.string else {
            return .error(400, "bad_request", "device_id is required (the door or panel asking)")
        }
        let action = Action(rawValue: body["action"]?.string ?? "checkin")
        return .json(200, cache.authorize(credential: credential, deviceID: deviceID, action: action, devices: devices).json())
    }

    private func sync(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let names = req.query["source"].map { [$0] } ?? config.sources.map(\.name)
        guard !names.isEmpty else { return .error(409, "no_sources", "no directory source is configured") }
        var runs: [JSON] = []
        for name in names {
            guard let r = runSync(name, force: req.query["force"] == "1") else {
                return .error(404, "not_found", "no directory source named \(name)")
            }
            runs.append(r.run.json())
        }
        return .json(200, ["runs": .array(runs)])
    }

    // MARK: - Health, metrics, status

    var healthProblems: [String] {
        var problems: [String] = []
        if let age = cache.cacheAge, age > config.maxCacheAge.seconds {
            problems.append("directory cache is stale: last successful sync \(Int(age / 3600)) h ago")
        }
        for (name, r) in lastSync.sorted(by: { $0.key < $1.key }) where r.status == .failed {
            problems.append("directory source \(name) failing: \(r.reason ?? "unknown")")
        }
        return problems
    }

    func writeMetrics(_ m: inout MetricsWriter) {
        if let age = cache.cacheAge { m.gauge("fleet_directory_cache_age_seconds", "Seconds since the stalest source last synced.", age) }
    }

    var status: [(String, JSON)] {
        var sources = JSONObject()
        for s in config.sources {
            let r = lastSync[s.name]
            sources[s.name] = ["kind": JSON(s.kind), "status": JSON(r?.status.rawValue), "reason": JSON(r?.reason),
                               "finished_at": r?.run.finishedAt.map { JSON($0) } ?? .null]
        }
        return [("directory", ["cache_age_s": cache.cacheAge.map { JSON($0.rounded()) } ?? .null, "sources": .object(sources)])]
    }
}

@available(*, unavailable) extension DirectoryFeature: Sendable {}
