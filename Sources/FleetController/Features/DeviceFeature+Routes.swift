import DevicePairing
import FleetJSON
import FleetLoop
import SensorIngest

/// `/api/v1/pairings`, `/api/v1/devices`, `/api/v1/gateways`, `/api/v1/operations`.
extension DeviceFeature {
    func registerRoutes(_ r: inout Router) {
        r.add("GET", "/api/v1/pairings") { [unowned self] _, _ in .json(200, self.pendingJSON()) }
        r.add("POST", "/api/v1/pairings") { [unowned self] req, _ in self.pair(req, replacing: nil) }
        r.add("GET", "/api/v1/pairings/{id}") { [unowned self] _, p in self.pairingState(p["id"]!) }
        r.add("GET", "/api/v1/operations/{id}") { [unowned self] _, p in self.operation(p["id"]!) }

        r.add("GET", "/api/v1/devices") { [unowned self] _, _ in
            .json(200, ["devices": .array(self.registry.all.map(Self.json))])
        }
        r.add("POST", "/api/v1/devices") { [unowned self] req, _ in self.provisionDevice(req) }
        r.add("GET", "/api/v1/devices/{id}") { [unowned self] _, p in
            guard let d = self.registry.device(p["id"]!) else { return .error(404, "not_found", "no device \(p["id"]!)") }
            return .json(200, Self.json(d))
        }
        r.add("POST", "/api/v1/devices/{id}") { [unowned self] req, p in self.updateDevice(p["id"]!, req) }
        r.add("DELETE", "/api/v1/devices/{id}") { [unowned self] _, p in
            self.async { done in self.pairing.unpair(p["id"]!) { done($0.map { _ in ["unpaired": JSON(p["id"]!)] }) } }
        }
        r.add("POST", "/api/v1/devices/{id}/disable") { [unowned self] _, p in
            self.async { done in self.pairing.setDisabled(p["id"]!, true) { done($0.map { $0.map(Self.json) ?? .null }) } }
        }
        r.add("POST", "/api/v1/devices/{id}/enable") { [unowned self] _, p in
            self.async { done in self.pairing.setDisabled(p["id"]!, false) { done($0.map { $0.map(Self.json) ?? .null }) } }
        }
        r.add("POST", "/api/v1/devices/{id}/rotate") { [unowned self] _, p in
            self.async { done in self.pairing.rotate(p["id"]!) { done($0.map { _ in ["rotated": JSON(p["id"]!)] }) } }
        }
        r.add("POST", "/api/v1/devices/{id}/replace") { [unowned self] req, p in self.pair(req, replacing: p["id"]!) }

        r.add("GET", "/api/v1/gateways") { [unowned self] _, _ in
            .json(200, ["gateways": .array(self.registry.gateways.map { g in
                ["name": JSON(g.name), "format": JSON(g.format), "time_zone": g.timeZone.map(JSON.string) ?? .null,
                 "created_at": JSON(g.createdAt),
                 "topic": JSON("\(self.context.config.broker.topicPrefix)/ingest/\(g.name)/#")]
            })])
        }
        r.add("POST", "/api/v1/gateways") { [unowned self] req, _ in self.addGateway(req) }
        r.add("DELETE", "/api/v1/gateways") { [unowned self] req, _ in self.removeGateway(req.query["name"] ?? "") }
        r.add("DELETE", "/api/v1/gateways/{name}") { [unowned self] _, p in self.removeGateway(p["name"]!) }
    }

    // MARK: - Pairing

    private func pendingJSON() -> JSON {
        let now = context.reactor.clock.unixTime
        let prefix = context.config.broker.topicPrefix
        return [
            "pending": .array(pairing.pending.map { p in
                var state = "waiting"
                if case .approving = p.state { state = "approving" }
                if p.state == .expired { state = "expired" }
                return ["device_id": JSON(p.hello.deviceID), "kind": JSON(p.hello.kind), "model": JSON(p.hello.model),
                        "firmware": JSON(p.hello.firmware), "fingerprint": JSON(p.hello.fingerprint), "state": JSON(state),
                        "received_at": JSON(p.receivedAt), "expires_in_s": JSON(max(0, (p.expiresAt - now).rounded()))]
            }),
            "attempts_left": JSON(pairing.attemptsLeft),
            "cooldown_s": pairing.cooldownUntil.map { JSON(($0 - now).rounded(.up)) } ?? .null,
            "enabled": .bool(pairing.isEnabled),
            "bootstrap_username": JSON(context.config.pairing.bootstrapUsername),
            "hello_topic": JSON("\(prefix)/pair/hello"),
        ]
    }

    /// `{"code","resource","name","confirm"}`; with `"confirm": false` only shows which panel the
    /// code belongs to (its fingerprint, to compare with the screen). Replacing takes the slot of
    /// the device in the path.
    private func pair(_ req: HTTPServerRequest, replacing: String?) -> HTTPServerResponse {
        let (body, bad) = req.jsonBody()
        guard let body else { return bad! }
        guard let code = body["code"]?.string else { return .error(400, "bad_request", "\"code\" is required") }
        let confirm = body["confirm"]?.bool ?? true
        let result: Result<PendingPairing, PairingError>
        if let replacing {
            result = confirm ? pairing.replace(replacing, code: code)
                : pairing.approve(code: code, resource: registry.device(replacing)?.resource ?? "?", name: nil, confirm: false)
        } else {
            guard let resource = body["resource"]?.string else {
                return .error(400, "bad_request", "\"resource\" is required: the room or door this panel serves")
            }
            result = pairing.approve(code: code, resource: resource, name: body["name"]?.string, confirm: confirm)
        }
        switch result {
        case .failure(let e): return Self.response(e)
        case .success(let p):
            var out: JSONObject = ["device_id": JSON(p.hello.deviceID), "kind": JSON(p.hello.kind), "model": JSON(p.hello.model),
                                   "firmware": JSON(p.hello.firmware), "fingerprint": JSON(p.hello.fingerprint)]
            out["status"] = confirm ? "approving" : "found"
            if replacing != nil { out["replacing"] = JSON(replacing) }
            return .json(confirm ? 202 : 200, .object(out))
        }
    }

    private func pairingState(_ id: String) -> HTTPServerResponse {
        switch pairing.outcomes[id] {
        case .approving?: return .json(200, ["device_id": JSON(id), "status": "approving"])
        case .paired?:
            return .json(200, ["device_id": JSON(id), "status": "paired", "device": registry.device(id).map(Self.json) ?? .null])
        case .failed(let reason)?: return .json(200, ["device_id": JSON(id), "status": "failed", "reason": JSON(reason)])
        case nil:
            if let p = pairing.pending.first(where: { $0.hello.deviceID == id }) {
                return .json(200, ["device_id": JSON(id), "status": p.state == .expired ? "expired" : "waiting"])
            }
            if registry.device(id)?.hasAccount == true { return .json(200, ["device_id": JSON(id), "status": "paired"]) }
            return .error(404, "not_found", "no pairing for \(id)")
        }
    }

    static func response(_ e: PairingError) -> HTTPServerResponse {
        let status: Int
        switch e.code {
        case .malformedCode, .invalidArgument, .invalidHello: status = 400
        case .wrongCode, .notFound: status = 404
        case .expiredCode: status = 410
        case .coolingDown: status = 429
        case .inProgress, .conflict: status = 409
        case .brokerUnavailable, .notConfigured: status = 503
        case .brokerRefused: status = 502
        default: status = 500
        }
        var o: JSONObject = ["error": JSON(e.code.rawValue), "message": JSON(e.message)]
        if let a = e.attemptsLeft { o["attempts_left"] = JSON(a) }
        if let r = e.retryAfter { o["retry_after_s"] = JSON(r.rounded(.up)) }
        if let f = e.field { o["field"] = JSON(f) }
        var r = HTTPServerResponse.json(status, .object(o))
        if let ra = e.retryAfter { r.headers.append(("Retry-After", "\(Int(ra.rounded(.up)))")) }
        return r
    }

    // MARK: - Devices

    private func provisionDevice(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let (body, bad) = req.jsonBody()
        guard let body else { return bad! }
        guard let id = body["id"]?.string, let kind = body["kind"]?.string, let resource = body["resource"]?.string else {
            return .error(400, "bad_request", "\"id\", \"kind\" and \"resource\" are required")
        }
        let d = DeviceRecord(id: id, kind: kind, resource: resource, name: body["name"]?.string,
                             minimumRole: body["minimum_role"]?.string,
                             actions: body["actions"]?.array?.compactMap(\.string))
        switch pairing.provision(d) {
        case .success(let d): return .json(201, Self.json(d))
        case .failure(let e): return Self.response(e)
        }
    }

    /// `{"name": …, "resource": …}`: rename and/or move.
    private func updateDevice(_ id: String, _ req: HTTPServerRequest) -> HTTPServerResponse {
        let (body, bad) = req.jsonBody()
        guard let body else { return bad! }
        var name: String?? = nil
        if let n = body["name"] { name = .some(n.string) }
        switch pairing.update(id, name: name, resource: body["resource"]?.string) {
        case .success(let d): return .json(200, Self.json(d))
        case .failure(let e): return Self.response(e)
        }
    }

    // MARK: - Gateways

    private func addGateway(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let (body, bad) = req.jsonBody()
        guard let body else { return bad! }
        guard let name = body["name"]?.string, let format = body["format"]?.string else {
            return .error(400, "bad_request", "\"name\" and \"format\" are required")
        }
        guard EnvelopeFormat(rawValue: format) != nil else {
            return .error(400, "bad_request",
                          "unknown format \(format); known: \(EnvelopeFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let timeZone = body["time_zone"]?.string
        if let timeZone, LocalTimeZone(timeZone) == nil {
            return .error(400, "bad_request",
                          "unknown time_zone \(timeZone); give a zone name such as Europe/London or an offset such as +01:00")
        }
        let host = context.config.broker.socket.map { "unix:\($0)" }
            ?? "\(context.config.broker.host):\(context.config.broker.port)"
        return async { done in
            self.pairing.addGateway(name: name, format: format, timeZone: timeZone) { r in
                done(r.map { c in
                    ["name": JSON(c.gateway.name), "format": JSON(c.gateway.format),
                     "time_zone": c.gateway.timeZone.map(JSON.string) ?? .null, "username": JSON(c.username),
                     "password": JSON(c.password), "topic": JSON("\(c.topic)…"), "publish_under": JSON(c.topic), "broker": JSON(host)]
                })
            }
        }
    }

    private func removeGateway(_ name: String) -> HTTPServerResponse {
        async { done in self.pairing.removeGateway(name: name) { done($0.map { _ in ["removed": JSON(name)] }) } }
    }

    // MARK: - Operations

    /// Starts `body`, answering 202 with the operation, or the final answer if it finished at once.
    private func async(_ body: (@escaping (Result<JSON, PairingError>) -> Void) -> Void) -> HTTPServerResponse {
        let id = operations.start()
        var immediate: Result<JSON, PairingError>?
        var returned = false
        body { [unowned self] result in
            if !returned { immediate = result }
            switch result {
            case .success(let j): self.operations.finish(id, .succeeded(j))
            case .failure(let e):
                let r = Self.response(e)
                self.operations.finish(id, .failed(r.status, e.code.rawValue, e.message))
            }
        }
        returned = true
        if case .failure(let e)? = immediate { return Self.response(e) }
        if case .success(let j)? = immediate { return .json(200, j) }
        return .json(202, ["operation": JSON(id), "status": "running", "poll": JSON("/api/v1/operations/\(id)")])
    }

    private func operation(_ raw: String) -> HTTPServerResponse {
        guard let id = Int(raw), let s = operations.state(id) else { return .error(404, "not_found", "no operation \(raw)") }
        switch s {
        case .running: return .json(200, ["operation": JSON(id), "status": "running"])
        case .succeeded(let j): return .json(200, ["operation": JSON(id), "status": "succeeded", "result": j])
        case .failed(let status, let code, let message):
            return .json(200, ["operation": JSON(id), "status": "failed", "http_status": JSON(status), "error": JSON(code),
                               "message": JSON(message)])
        }
    }
}
