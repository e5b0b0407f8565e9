import DirectoryCache
import FleetJSON
import FleetLoop
import Logging
import MQTTBridge

/// The offline directory: sources synced on timers, decisions for doors and panels over MQTT and
/// HTTP, people lookups, sync runs, plans, held runs and pausing.
final class DirectoryFeature: Feature {
    let cache: DirectoryCache
    let context: FeatureContext
    let devices: (String) -> DeviceContext?
    private(set) var config: Configuration
    /// One libcurl multi for every network source, on the loop.
    private(set) lazy var http = HTTPClient(reactor: context.reactor)
    private(set) var sources: [String: any DirectorySource] = [:]
    private var syncTimers: [TimerID] = []
    /// Runs in flight by source: a second request for the same source joins it.
    private(set) var running: [String: SyncRun] = [:]
    private(set) var lastSync: [String: SyncRunResult] = [:]
    /// Dry runs (`sync plan`) by id; the newest few are kept for the CLI to fetch.
    var plans: [Int: PlanState] = [:]
    var nextPlanID = 1
    /// Retention of inactive people and audit rows, in slices on the loop.
    private(set) var sweeper: RetentionSweeper!
    /// `users purge`: every inactive person now, same slices.
    private(set) var purgeNow: RetentionSweeper!
    /// Check-ins on their way to `[directory] checkin_url`.
    private(set) var outbox: CheckinOutbox!

    enum PlanState {
        case running(source: String)
        case done(SyncPlan)
        case failed(source: String, DirectoryError)
    }

    init(_ context: FeatureContext, devices: @escaping (String) -> DeviceContext?) throws {
        self.context = context
        self.devices = devices
        config = context.config
        cache = DirectoryCache(store: try DirectoryStore(path: "\(context.config.stateDir)/directory.sqlite"),
                               clock: context.reactor.clock, logger: Logger(label: "directory"),
                               policy: Self.policy(context.config), rules: Self.rules(context.config))
        cache.loop = context.reactor
        cache.sliceGap = config.directorySliceGap
        cache.resumeConfirmations = config.resumeConfirmations
        // Health and status follow a confirmation the start resumed, as they follow one made over the API.
        cache.confirmationResumed = { [unowned self] run in self.lastSync[run.source] = SyncRunResult(run: run) }
        // Runs held before a restart can still be confirmed by id once their answers are read back.
        cache.recoverAfterRestart()
        // Status and health show each source's last outcome from before the restart until it runs again.
        for source in config.sources {
            if let newest = try? cache.store.runs(limit: 1, source: source.name).first { lastSync[source.name] = SyncRunResult(run: newest) }
        }
        rebuildSources()
        sweeper = RetentionSweeper(cache: cache, reactor: context.reactor, inactiveRetention: config.inactiveRetention,
                                   auditRetention: config.auditRetention)
        purgeNow = RetentionSweeper(cache: cache, reactor: context.reactor, inactiveRetention: .zero,
                                    auditRetention: config.auditRetention)
        outbox = CheckinOutbox(store: cache.store, reactor: context.reactor, http: http, logger: Logger(label: "directory.checkins"),
                               settings: CheckinOutbox.Settings(url: config.checkinURL, tokenFile: config.checkinTokenFile))
        cache.checkinStored = { [unowned self] in self.outbox.kick() }
        installDeviceOps()
    }

    static func policy(_ c: Configuration) -> AuthorizationPolicy {
        AuthorizationPolicy(maxCacheAge: c.maxCacheAge.seconds,
                            stale: AuthorizationPolicy.StaleMode(rawValue: c.stalePolicy) ?? .denyAllButAdmin)
    }

    static func rules(_ c: Configuration) -> SyncRules { SyncRules(maxDeactivationShare: c.maxDeactivationShare) }

    func start() {
        scheduleSyncs()
        sweeper.start(every: .seconds(3600))
        outbox.kick()  // what waited through a restart goes out first
    }

    /// Decisions are written; a large apply in progress stops between slices (a confirmation is
    /// held again at the next start, with nothing of it applied).
    func shutdown() { cache.stop() }

    func reload(_ c: Configuration) throws {
        config = c
        cache.policy = Self.policy(c)
        cache.rules = Self.rules(c)
        cache.sliceGap = c.directorySliceGap
        cache.resumeConfirmations = c.resumeConfirmations
        sweeper.inactiveRetention = c.inactiveRetention
        sweeper.auditRetention = c.auditRetention
        purgeNow.auditRetention = c.auditRetention
        outbox.settings.url = c.checkinURL
        outbox.settings.tokenFile = c.checkinTokenFile
        outbox.kick()
        rebuildSources()
        scheduleSyncs()
    }

    // MARK: - Sources

    /// Sources from the config; a Graph source whose settings did not change is kept, with its
    /// token and pinned group ids.
    private func rebuildSources() {
        var fresh: [String: any DirectorySource] = [:]
        for s in config.sources {
            switch s.kind {
            case "graph":
                let settings = Self.graphSettings(s)
                if let old = sources[s.name] as? GraphSource, old.settings == settings {
                    fresh[s.name] = old
                } else {
                    let graph = GraphSource(settings: settings, http: http, reactor: context.reactor,
                                            logger: Logger(label: "directory.graph"))
                    // Pins of applied runs: rename detection survives restarts.
                    graph.pinStore = cache.store
                    fresh[s.name] = graph
                }
            default:
                if let path = s.path { fresh[s.name] = CSVSource(name: s.name, path: path) }
            }
        }
        sources = fresh
    }

    static func graphSettings(_ s: Configuration.Source) -> GraphSettings {
        var groups: [Role: String] = [:]
        for (key, name) in s.roleGroups { if let role = Role(rawValue: key) { groups[role] = name } }
        return GraphSettings(
            name: s.name, tenantID: s.settings["tenant_id"] ?? "", clientID: s.settings["client_id"] ?? "",
            clientSecretFile: s.settings["client_secret_file"] ?? "",
            loginURL: s.settings["login_url"] ?? GraphDefaults.loginURL,
            graphURL: s.settings["graph_url"] ?? GraphDefaults.graphURL,
            badgeAttribute: s.settings["badge_attribute"].flatMap(BadgeAttribute.init(config:)) ?? .employeeID,
            roleGroups: groups)
    }

    private func scheduleSyncs() {
        syncTimers.forEach(context.reactor.cancel)
        syncTimers = []
        for source in config.sources {
            if !cache.syncPaused { runSync(source.name) }
            syncTimers.append(context.reactor.every(source.interval) { [unowned self] in
                if !self.cache.syncPaused { self.runSync(source.name) }
            })
            if source.kind == "graph", let every = Self.deltaInterval(source) {
                syncTimers.append(context.reactor.every(every) { [unowned self] in
                    if !self.cache.syncPaused { self.runSync(source.name, delta: true) }
                })
            }
        }
    }

    /// `delta_interval` of a graph source (default 15 s; "0s" turns delta polling off).
    static func deltaInterval(_ s: Configuration.Source) -> Duration? {
        let seconds = s.settings["delta_interval_s"].flatMap(Double.init) ?? 15
        return seconds > 0 ? .milliseconds(Int64(seconds * 1000)) : nil
    }

    /// Starts a run of `name` (or joins the one in flight); nil for an unknown source. `delta`
    /// asks a Graph source for its changes only. `completion` gets the finished run (at once for files).
    @discardableResult
    func runSync(_ name: String, force: Bool = false, delta: Bool = false,
                 completion: @escaping (SyncRunResult) -> Void = { _ in }) -> SyncRun? {
        guard let source = sources[name] else { return nil }
        if let inFlight = running[name] { return inFlight }
        var finished = false
        let done: (SyncRunResult) -> Void = { [unowned self] result in
            finished = true
            running[name] = nil
            record(name, result)
            completion(result)
        }
        let started = if delta, let graph = source as? GraphSource {
            cache.syncDelta(source: graph, force: force, completion: done)
        } else {
            cache.sync(source: source, force: force, completion: done)
        }
        if !finished { running[name] = started }
        return finished ? lastSync[name]?.run : started
    }

    private func record(_ name: String, _ result: SyncRunResult) {
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
    }

    /// Starts a dry run of `name`; returns its plan id.
    func startPlan(_ name: String) -> Int? {
        guard let source = sources[name] else { return nil }
        let id = nextPlanID
        nextPlanID += 1
        plans[id] = .running(source: name)
        plans = plans.filter { $0.key > id - 20 }
        cache.plan(source: source) { [unowned self] result in
            switch result {
            case .success(let plan): plans[id] = .done(plan)
            case .failure(let error): plans[id] = .failed(source: name, error)
            }
        }
        return id
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
        context.requests.on("checkin") { [unowned self] req in
            guard let credential = Self.credential(from: req.body["credential"]) else {
                return ["error": "bad_request", "message": "credential must be {\"type\": \"badge|email|user_id\", \"value\": \"…\"}"]
            }
            guard let eventID = req.body["event_id"]?.string else {
                return ["error": "bad_request", "message": "event_id is required: an id the panel makes once per check-in and repeats on retries"]
            }
            do throws(DirectoryError) {
                return try self.cache.checkin(deviceID: req.deviceID, eventID: eventID, credential: credential,
                                              action: Action(rawValue: req.body["action"]?.string ?? "checkin"),
                                              occurredAt: req.body["ts"]?.double, devices: self.devices).json()
            } catch where error.code == .invalidValue {
                return ["error": "bad_request", "message": JSON(error.reason)]
            } catch {
                self.context.logger.error("check-in not stored", metadata: ["device": "\(req.deviceID)", "error": "\(error)"])
                return ["error": "store_failed", "message": "the check-in was not stored; retry with the same event_id"]
            }
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
        registerPeopleRoutes(&r)
        r.add("POST", "/api/v1/sync") { [unowned self] req, _ in self.sync(req) }
        r.add("GET", "/api/v1/sync/runs") { [unowned self] req, _ in
            do {
                let runs = try self.cache.store.runs(limit: req.intQuery("limit", default: 50, range: 1...1000),
                                                     source: req.query["source"])
                return .json(200, ["runs": .array(runs.map(self.runJSON))])
            } catch { return .error(500, "store_error", "\(error)") }
        }
        r.add("GET", "/api/v1/sync/runs/{id}") { [unowned self] _, p in
            guard let id = Int64(p["id"]!), let run = try? self.cache.store.run(id: id) else {
                return .error(404, "not_found", "no sync run \(p["id"]!)")
            }
            return .json(200, self.runJSON(run))
        }
        r.add("POST", "/api/v1/sync/runs/{id}/apply") { [unowned self] _, p in
            guard let id = Int64(p["id"]!) else { return .error(404, "not_found", "no sync run \(p["id"]!)") }
            // 200 with the applied run, or 202 while a large answer is staged (poll sync/runs/{id}).
            var outcome: Result<SyncRunResult, DirectoryError>?
            do throws(DirectoryError) {
                let started = try self.cache.confirmHeld(runID: id) { [unowned self] result in
                    outcome = result
                    if case .success(let applied) = result { self.lastSync[applied.run.source] = applied }
                }
                if let started, outcome == nil { return .json(202, started.json()) }
                return try .json(200, outcome!.get().run.json())
            } catch { return Self.failure(error) }
        }
        r.add("GET", "/api/v1/sync/plans/{id}") { [unowned self] _, p in
            guard let id = Int(p["id"]!), let state = self.plans[id] else {
                return .error(404, "not_found", "no plan \(p["id"]!); plans are kept in memory for the last 20 dry runs")
            }
            return .json(200, Self.planJSON(id, state))
        }
        r.add("POST", "/api/v1/sync/pause") { [unowned self] _, _ in self.setPaused(true) }
        r.add("POST", "/api/v1/sync/resume") { [unowned self] _, _ in self.setPaused(false) }
    }

    /// A run as the API lists it; a held one says whether its answer can be confirmed now (only
    /// the newest held answer of a source is kept, and after a restart it is read back first).
    private func runJSON(_ run: SyncRun) -> JSON {
        var json = run.json()
        if run.status == .held, let id = run.id, case .object(var fields) = json {
            fields["confirmable"] = .bool(cache.confirmableRuns.contains(id))
            json = .object(fields)
        }
        if run.status == .running, let id = run.id, let slices = cache.applySlices(runID: id), case .object(var fields) = json {
            fields["apply_slices"] = JSON(slices)
            json = .object(fields)
        }
        return json
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

    /// `POST /api/v1/sync[?source=NAME][&force=1][&plan=1][&delta=1]`: 200 with the finished runs (or
    /// plans), 202 while a network source is still being read (poll `sync/runs/{id}` or
    /// `sync/plans/{id}`).
    private func sync(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let names = req.query["source"].map { [$0] } ?? config.sources.map(\.name)
        guard !names.isEmpty else { return .error(409, "no_sources", "no directory source is configured") }
        if let unknown = names.first(where: { sources[$0] == nil }) {
            return .error(404, "not_found", "no directory source named \(unknown)")
        }
        if req.query["plan"] == "1" {
            let ids = names.compactMap(startPlan)
            let states = ids.map { ($0, plans[$0]!) }
            let done = states.allSatisfy { if case .running = $0.1 { false } else { true } }
            return .json(done ? 200 : 202, ["plans": .array(states.map { Self.planJSON($0.0, $0.1) })])
        }
        if cache.syncPaused {
            return .error(409, "paused", "directory sync is paused; run `fleet-controller sync resume` first (`sync plan` still works)")
        }
        let runs = names.compactMap { runSync($0, force: req.query["force"] == "1", delta: req.query["delta"] == "1") }
        let done = runs.allSatisfy { $0.status != .running }
        return .json(done ? 200 : 202, ["runs": .array(runs.map { $0.json() })])
    }

    private func setPaused(_ paused: Bool) -> HTTPServerResponse {
        do { try cache.setSyncPaused(paused) } catch { return .error(500, "store_error", "\(error)") }
        return .json(200, ["sync_paused": .bool(paused)])
    }

    static func planJSON(_ id: Int, _ state: PlanState) -> JSON {
        switch state {
        case .running(let source): ["id": JSON(id), "source": JSON(source), "status": "running"]
        case .failed(let source, let error):
            ["id": JSON(id), "source": JSON(source), "status": "failed", "reason": JSON(error.description)]
        case .done(let plan):
            ["id": JSON(id), "source": JSON(plan.source), "status": "done", "plan": plan.json()]
        }
    }

    // MARK: - Health, metrics, status

    var healthProblems: [String] {
        var problems: [String] = []
        if let age = cache.cacheAge, age > config.maxCacheAge.seconds {
            problems.append("directory cache is stale: last successful sync \(Int(age / 3600)) h ago")
        }
        if config.checkinURL == nil, let waiting = try? cache.store.pendingCheckinCount(), waiting > 0 {
            problems.append("\(waiting) check-ins are stored but no [directory] checkin_url is set to deliver them")
        }
        for (name, r) in lastSync.sorted(by: { $0.key < $1.key }) {
            switch r.status {
            case .failed: problems.append("directory source \(name) failing: \(r.reason ?? "unknown")")
            case .held:
                problems.append("directory source \(name) held: \(r.reason ?? ""); run `fleet-controller sync apply \(confirmableRun(name) ?? r.run.id ?? 0) --force` after checking `sync plan`")
            default: break
            }
        }
        return problems
    }

    /// The held run of `source` whose answer can be confirmed (a delta round that read the same
    /// changes again leaves the first one to confirm).
    private func confirmableRun(_ source: String) -> Int64? {
        let confirmable = cache.confirmableRuns
        return (try? cache.store.runs(limit: 50, source: source))?
            .first { $0.status == .held && confirmable.contains($0.id ?? -1) }?.id
    }

    func writeMetrics(_ m: inout MetricsWriter) {
        if let age = cache.cacheAge { m.gauge("fleet_directory_cache_age_seconds", "Seconds since the stalest source last synced.", age) }
        m.gauge("fleet_directory_sync_paused", "1 while directory sync is paused.", cache.syncPaused ? 1 : 0)
        m.gauge("fleet_directory_checkins_pending", "Check-ins stored but not yet accepted by the cloud.",
                Double((try? cache.store.pendingCheckinCount()) ?? 0))
        m.counter("fleet_directory_checkins_delivered_total", "Check-ins the cloud accepted since start.", Double(outbox.delivered))
        var requests: [(String, Double)] = []
        var throttled: [(String, Double)] = []
        for (name, source) in sources.sorted(by: { $0.key < $1.key }) {
            guard let graph = source as? GraphSource else { continue }
            requests.append(("{source=\"\(name)\"}", Double(graph.requestsSent)))
            throttled.append(("{source=\"\(name)\"}", Double(graph.throttledAnswers)))
        }
        if !requests.isEmpty {
            m.metric("fleet_directory_graph_requests_total", "counter", "Requests sent to Microsoft Graph.", requests)
            m.metric("fleet_directory_graph_throttled_total", "counter", "Throttled (429/503/504) answers from Graph.", throttled)
        }
    }

    var status: [(String, JSON)] {
        var sourcesJSON = JSONObject()
        for s in config.sources {
            let r = lastSync[s.name]
            sourcesJSON[s.name] = ["kind": JSON(s.kind), "status": JSON(running[s.name] != nil ? "running" : r?.status.rawValue),
                                   "reason": JSON(r?.reason), "finished_at": r?.run.finishedAt.map { JSON($0) } ?? .null]
        }
        return [("directory", ["cache_age_s": cache.cacheAge.map { JSON($0.rounded()) } ?? .null,
                               "sync_paused": .bool(cache.syncPaused), "sources": .object(sourcesJSON),
                               "checkins_pending": JSON((try? cache.store.pendingCheckinCount()) ?? 0)])]
    }
}

@available(*, unavailable) extension DirectoryFeature: Sendable {}
