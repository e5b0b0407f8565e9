import FleetJSON
import FleetLoop

/// The HTTP API: `/healthz`, `/metrics`, `/` (installer page) open on the loopback listener;
/// everything under `/api/v1/` needs `Authorization: Bearer <$STATE/admin.token>`.
/// Errors are `{"error": code, "message": text}` with a fitting status. Each feature registers its
/// routes in its own `AdminAPI+Feature.swift`.
final class AdminAPI {
    unowned let daemon: Daemon
    private var open = Router()
    private var admin = Router()

    init(daemon: Daemon) {
        self.daemon = daemon
        open.add("GET", "/healthz") { [unowned self] _, _ in self.health() }
        open.add("GET", "/metrics") { [unowned self] _, _ in
            HTTPServerResponse(status: 200, contentType: "text/plain; version=0.0.4", body: self.daemon.metrics())
        }
        open.add("GET", "/") { _, _ in
            HTTPServerResponse(status: 200, contentType: "text/html; charset=utf-8", body: InstallerPage.html)
        }
        admin.add("GET", "/api/v1/status") { [unowned self] _, _ in .json(200, self.status()) }
        for f in daemon.features { f.registerRoutes(&admin) }
    }

    func handle(_ req: HTTPServerRequest) -> HTTPServerResponse {
        guard req.path.hasPrefix("/api/") else { return open.route(req) }
        guard authorized(req) else {
            var r = HTTPServerResponse.error(401, "unauthorized",
                                             "send Authorization: Bearer <token from \(daemon.config.stateDir)/admin.token>")
            r.headers.append(("WWW-Authenticate", "Bearer"))
            return r
        }
        return admin.route(req)
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

    private func health() -> HTTPServerResponse {
        let problems = daemon.healthProblems
        if problems.isEmpty { return .json(200, ["status": "ok"]) }
        return .json(503, ["status": "degraded", "reasons": .array(problems.map { JSON($0) })])
    }

    func status() -> JSON {
        let d = daemon
        var out: JSONObject = [
            "version": JSON(FleetControllerVersion.string),
            "site": JSON(d.config.site),
            "uptime_s": JSON((d.reactor.clock.unixTime - d.startedAt).rounded()),
            "broker": ["connected": .bool(d.mqtt.isConnected), "endpoint": JSON(d.mqtt.endpoint),
                       "last_error": JSON(d.mqtt.lastError), "sensor_session_connected": .bool(d.sensorMQTT.isConnected)],
            "loop_lag_ms": ["p50": JSON(d.reactor.lag.quantileMS(0.5)), "p99": JSON(d.reactor.lag.quantileMS(0.99)),
                            "max": JSON(d.reactor.lag.maxMS)],
        ]
        for f in d.features { for (k, v) in f.status { out[k] = v } }
        out["health"] = .array(d.healthProblems.map { JSON($0) })
        return .object(out)
    }
}

@available(*, unavailable) extension AdminAPI: Sendable {}
