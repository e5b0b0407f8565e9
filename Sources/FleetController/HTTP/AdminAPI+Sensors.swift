import FleetJSON
import FleetLoop
import SensorIngest

/// Sensors and their readings.
extension AdminAPI {
    func registerSensorRoutes(_ r: inout Router) {
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
            let rows = try daemon.telemetry.series(
                sensor: req.query["sensor"]?.uppercased(), resource: req.query["resource"], kind: kind,
                from: req.query["from"].flatMap(Double.init), to: req.query["to"].flatMap(Double.init),
                limit: req.intQuery("limit", default: 1000, range: 1...10_000))
            return .json(200, ["readings": .array(rows.map(\.json))])
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
        return .json(200, ["sensors": .array(out)])
    }

    private func discovered() -> HTTPServerResponse {
        do {
            let rows = try daemon.telemetry.discovered()
            return .json(200, ["discovered": .array(rows.map { d in
                ["dev_eui": JSON(d.devEUI), "first_seen": JSON(d.firstSeen), "last_seen": JSON(d.lastSeen), "count": JSON(d.count)]
            })])
        } catch {
            return .error(500, "store_error", "\(error)")
        }
    }
}
