import DevicePairing
import FleetJSON
import FleetLoop

/// Devices the controller answers.
extension AdminAPI {
    func registerDeviceRoutes(_ r: inout Router) {
        r.add("GET", "/api/v1/devices") { [unowned self] _, _ in
            .json(200, ["devices": .array(self.daemon.devices.all.map(Self.deviceJSON))])
        }
        r.add("GET", "/api/v1/devices/{id}") { [unowned self] _, p in
            guard let d = self.daemon.devices.device(p["id"]!) else { return .error(404, "not_found", "no device \(p["id"]!)") }
            return .json(200, Self.deviceJSON(d))
        }
    }

    static func deviceJSON(_ d: DeviceRecord) -> JSON {
        ["id": JSON(d.id), "kind": JSON(d.kind), "resource": JSON(d.resource), "name": JSON(d.name),
         "origin": JSON(d.origin), "created_at": JSON(d.createdAt), "last_seen": d.lastSeen.map { JSON($0) } ?? .null]
    }
}
