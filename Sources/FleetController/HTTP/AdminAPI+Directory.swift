import DirectoryCache
import FleetJSON
import FleetLoop

/// People, decisions and sync runs.
extension AdminAPI {
    func registerDirectoryRoutes(_ r: inout Router) {
        r.add("POST", "/api/v1/authorize") { [unowned self] req, _ in self.authorize(req) }
        r.add("GET", "/api/v1/users") { [unowned self] req, _ in
            let found = self.daemon.directory.search(prefix: req.query["q"] ?? "", limit: req.intQuery("limit", default: 20, range: 1...100))
            return .json(200, ["users": .array(found.map { $0.json() })])
        }
        r.add("GET", "/api/v1/users/{id}") { [unowned self] _, p in
            guard let u = self.daemon.directory.user(idOrEmail: p["id"]!) else {
                return .error(404, "not_found", "no user with id or email \(p["id"]!)")
            }
            return .json(200, u.json())
        }
        r.add("POST", "/api/v1/sync") { [unowned self] req, _ in self.sync(req) }
        r.add("GET", "/api/v1/sync/runs") { [unowned self] _, _ in
            do { return .json(200, ["runs": .array(try self.daemon.directory.store.runs(limit: 50).map { $0.json() })]) } catch {
                return .error(500, "store_error", "\(error)")
            }
        }
    }

    func directoryStatus() -> JSON {
        var sources = JSONObject()
        for s in daemon.config.sources {
            let r = daemon.lastSync[s.name]
            sources[s.name] = ["kind": JSON(s.kind), "status": JSON(r?.status.rawValue), "reason": JSON(r?.reason),
                               "finished_at": r?.run.finishedAt.map { JSON($0) } ?? .null]
        }
        return ["cache_age_s": daemon.directory.cacheAge.map { JSON($0.rounded()) } ?? .null, "sources": .object(sources)]
    }

    private func authorize(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let (parsed, failure) = req.jsonBody()
        guard let body = parsed else { return failure! }
        guard let credential = Daemon.credential(from: body["credential"]) else {
            return .error(400, "bad_request", "credential must be {\"type\": \"badge|email|user_id\", \"value\": \"…\"}")
        }
        guard let deviceID = body["device_id"]?.string else {
            return .error(400, "bad_request", "device_id is required (the door or panel asking)")
        }
        let action = Action(rawValue: body["action"]?.string ?? "checkin")
        return .json(200, daemon.directory.authorize(credential: credential, deviceID: deviceID, action: action,
                                                     devices: daemon.deviceContext).json())
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
        return .json(200, ["runs": .array(runs)])
    }
}
