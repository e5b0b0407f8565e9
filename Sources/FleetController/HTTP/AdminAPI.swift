import DevicePairing
import DirectoryCache
import FleetJSON
import FleetLoop
import SensorIngest

/// The HTTP API: `/healthz`, `/metrics`, `/` (installer page) open on the loopback listener;
/// everything under `/api/v1/` needs `Authorization: Bearer <$STATE/admin.token>`.
/// Errors are `{"error": code, "message": text}` with a fitting status.
struct AdminAPI {
    let daemon: Daemon

    func handle(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let path = req.path.count > 1 && req.path.hasSuffix("/") ? String(req.path.dropLast()) : req.path
        switch (req.method, path) {
        case ("GET", "/healthz"): return health()
        case ("GET", "/metrics"): return HTTPServerResponse(status: 200, contentType: "text/plain; version=0.0.4",
                                                            body: Metrics(daemon: daemon).render())
        case ("GET", "/"): return HTTPServerResponse(status: 200, contentType: "text/html; charset=utf-8", body: InstallerPage.html)
        default: break
        }
        guard path.hasPrefix("/api/v1/") else { return .error(404, "not_found", "no such endpoint: \(req.path)") }
        guard authorized(req) else {
            var r = HTTPServerResponse.error(401, "unauthorized", "send Authorization: Bearer <token from \(daemon.config.stateDir)/admin.token>")
            r.headers.append(("WWW-Authenticate", "Bearer"))
            return r
        }
        let parts = path.dropFirst("/api/v1/".count).split(separator: "/").map(String.init)
        switch (req.method, parts.first ?? "", parts.count) {
        case ("GET", "status", 1): return json(200, status())
        case ("POST", "authorize", 1): return authorize(req)
        case ("GET", "users", 1): return users(req)
        case ("GET", "users", 2): return user(parts[1])
        case ("POST", "sync", 1): return sync(req)
        case ("GET", "sync", 2) where parts[1] == "runs": return syncRuns()
        case ("GET", "telemetry", 1): return telemetry(req)
        case ("GET", "sensors", 1): return sensors()
        case ("GET", "sensors", 2) where parts[1] == "discovered": return discovered()
        case ("GET", "devices", 1): return devices()
        case ("GET", "devices", 2): return device(parts[1])
        case (_, "status", _), (_, "authorize", _), (_, "users", _), (_, "sync", _), (_, "telemetry", _),
             (_, "sensors", _), (_, "devices", _):
            return .error(405, "method_not_allowed", "\(req.method) is not supported on \(path)")
        default:
            return .error(404, "not_found", "no such endpoint: \(req.path)")
        }
    }

    /// Constant-time comparison, so the token cannot be guessed byte by byte from response times.
    private func authorized(_ req: HTTPServerRequest) -> Bool {
        guard let h = req.header("authorization"), h.hasPrefix("Bearer ") else { return false }
        let given = Array(h.dropFirst(7).utf8), expected = Array(daemon.adminToken.utf8)
        guard given.count == expected.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<given.count { diff |= given[i] ^ expected[i] }
        return diff == 0
    }

    private func json(_ status: Int, _ body: JSON) -> HTTPServerResponse {
        HTTPServerResponse(status: status, headers: [("Content-Type", "application/json")], body: body.bytes)
    }

    /// The request's JSON body, or the 400 response explaining why there is none.
    private func parseBody(_ req: HTTPServerRequest) -> (JSON?, HTTPServerResponse?) {
        guard !req.body.isEmpty else { return (nil, .error(400, "bad_request", "a JSON body is required")) }
        do { return (try JSON.parse(req.body), nil) } catch {
            return (nil, .error(400, "bad_request", "invalid JSON at byte \(error.offset): \(error.reason)"))
        }
    }

    // MARK: - Endpoints

    private func health() -> HTTPServerResponse {
        let problems = daemon.healthProblems
        if problems.isEmpty { return json(200, ["status": "ok"]) }
        return json(503, ["status": "degraded", "reasons": .array(problems.map { JSON($0) })])
    }

    func status() -> JSON {
        let d = daemon
        var sources = JSONObject()
        for s in d.config.sources {
            let r = d.lastSync[s.name]
            sources[s.name] = ["kind": JSON(s.kind), "status": JSON(r?.status.rawValue),
                               "reason": JSON(r?.reason), "finished_at": r?.run.finishedAt.map { JSON($0) } ?? .null]
        }
        return [
            "version": JSON(FleetControllerVersion.string),
            "site": JSON(d.config.site),
            "uptime_s": JSON((d.reactor.clock.unixTime - d.startedAt).rounded()),
            "broker": ["connected": .bool(d.mqtt.isConnected), "endpoint": JSON(d.mqtt.endpoint),
                       "last_error": JSON(d.mqtt.lastError)],
            "loop_lag_ms": ["p50": JSON(d.reactor.lag.quantileMS(0.5)), "p99": JSON(d.reactor.lag.quantileMS(0.99)),
                            "max": JSON(d.reactor.lag.maxMS)],
            "directory": ["cache_age_s": d.directory.cacheAge.map { JSON($0.rounded()) } ?? .null, "sources": .object(sources)],
            "devices": JSON(d.devices.all.count),
            "sensors": JSON(d.ingest.sensors.count),
            "health": .array(d.healthProblems.map { JSON($0) }),
        ]
    }

    private func authorize(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let (parsed, failure) = parseBody(req)
        guard let body = parsed else { return failure! }
        guard let credential = Daemon.credential(from: body["credential"]) else {
            return .error(400, "bad_request", "credential must be {\"type\": \"badge|email|user_id\", \"value\": \"…\"}")
        }
        guard let deviceID = body["device_id"]?.string else {
            return .error(400, "bad_request", "device_id is required (the door or panel asking)")
        }
        let action = Action(rawValue: body["action"]?.string ?? "checkin")
        return json(200, daemon.directory.authorize(credential: credential, deviceID: deviceID, action: action,
                                                    devices: daemon.deviceContext).json())
    }

    private func users(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let limit = min(max(Int(req.query["limit"] ?? "") ?? 20, 1), 100)
        let found = daemon.directory.search(prefix: req.query["q"] ?? "", limit: limit)
        return json(200, ["users": .array(found.map { $0.json() })])
    }

    private func user(_ key: String) -> HTTPServerResponse {
        guard let u = daemon.directory.user(idOrEmail: key) else {
            return .error(404, "not_found", "no user with id or email \(key)")
        }
        return json(200, u.json())
    }

    private func sync(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let names = req.query["source"].map { [$0] } ?? daemon.config.sources.map(\.name)
        guard !names.isEmpty else { return .error(409, "no_sources", "no directory source is configured") }
        var runs: [JSON] = []
        for name in names {
            guard let r = daemon.runSync(name, force: req.query["force"] == "1") else {
                return .error(404, "not_found", "no directory source named \(name)")
            }
            runs.append(r.run.json())
        }
        return json(200, ["runs": .array(runs)])
    }

    private func syncRuns() -> HTTPServerResponse {
        do { return json(200, ["runs": .array(try daemon.directory.store.runs(limit: 50).map { $0.json() })]) } catch {
            return .error(500, "store_error", "\(error)")
        }
    }

    private func telemetry(_ req: HTTPServerRequest) -> HTTPServerResponse {
        var kind: ReadingKind?
        if let k = req.query["kind"] {
            guard let parsed = ReadingKind(rawValue: k) else {
                return .error(400, "bad_request", "unknown kind \(k); known: \(ReadingKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            kind = parsed
        }
        let limit = min(max(Int(req.query["limit"] ?? "") ?? 1000, 1), 10_000)
        do {
            let rows = try daemon.telemetry.series(sensor: req.query["sensor"]?.uppercased(), resource: req.query["resource"],
                                                   kind: kind, from: req.query["from"].flatMap(Double.init),
                                                   to: req.query["to"].flatMap(Double.init), limit: limit)
            return json(200, ["readings": .array(rows.map(\.json))])
        } catch {
            return .error(500, "store_error", "\(error)")
        }
    }

    private func sensors() -> HTTPServerResponse {
        var out: [JSON] = []
        for s in daemon.ingest.sensors {
            let latest = (try? daemon.telemetry.latest(sensor: s.devEUI)) ?? []
            out.append(["dev_eui": JSON(s.devEUI), "vendor": JSON(s.vendor), "model": JSON(s.model),
                        "resource": JSON(s.resource), "latest": .array(latest.map(\.json))])
        }
        return json(200, ["sensors": .array(out)])
    }

    private func discovered() -> HTTPServerResponse {
        do {
            let rows = try daemon.telemetry.discovered()
            return json(200, ["discovered": .array(rows.map { d in
                ["dev_eui": JSON(d.devEUI), "first_seen": JSON(d.firstSeen), "last_seen": JSON(d.lastSeen),
                 "count": JSON(d.count)]
            })])
        } catch {
            return .error(500, "store_error", "\(error)")
        }
    }

    private func devices() -> HTTPServerResponse {
        json(200, ["devices": .array(daemon.devices.all.map(deviceJSON))])
    }

    private func device(_ id: String) -> HTTPServerResponse {
        guard let d = daemon.devices.device(id) else { return .error(404, "not_found", "no device \(id)") }
        return json(200, deviceJSON(d))
    }

    private func deviceJSON(_ d: DeviceRecord) -> JSON {
        ["id": JSON(d.id), "kind": JSON(d.kind), "resource": JSON(d.resource), "name": JSON(d.name),
         "origin": JSON(d.origin), "created_at": JSON(d.createdAt), "last_seen": d.lastSeen.map { JSON($0) } ?? .null]
    }
}
