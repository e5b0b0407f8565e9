import DevicePairing
import DirectoryCache
import FleetJSON
import FleetLoop
import MQTTBridge

/// The devices the controller answers: pre-provisioned from config (pairing by code comes here too).
final class DeviceFeature: Feature {
    let registry: DeviceRegistry
    private let context: FeatureContext

    init(_ context: FeatureContext) throws {
        self.context = context
        registry = try DeviceRegistry(path: "\(context.config.stateDir)/devices.sqlite", clock: context.reactor.clock)
        try provision(context.config)
        context.requests.on("status") { [unowned self] req in
            self.registry.touch(req.deviceID)
            return ["controller": "online", "known_device": .bool(self.registry.device(req.deviceID) != nil)]
        }
    }

    func reload(_ config: Configuration) throws { try provision(config) }

    private func provision(_ c: Configuration) throws {
        try registry.provision(c.devices.map {
            DeviceRecord(id: $0.id, kind: $0.kind, resource: $0.resource, name: $0.name,
                         minimumRole: $0.minimumRole, actions: $0.actions)
        })
    }

    /// The policy a device carries into an authorization decision; nil for a device we do not know.
    func context(_ id: String) -> DeviceContext? {
        guard let d = registry.device(id) else { return nil }
        var ctx = DeviceContext(id: d.id, kind: d.kind, resource: d.resource)
        if let r = d.minimumRole.flatMap({ Role(text: $0) }) { ctx.minimumRole = r }
        if let a = d.actions { ctx.allowedActions = Set(a.map { Action(rawValue: $0) }) }
        return ctx
    }

    func registerRoutes(_ r: inout Router) {
        r.add("GET", "/api/v1/devices") { [unowned self] _, _ in
            .json(200, ["devices": .array(self.registry.all.map(Self.json))])
        }
        r.add("GET", "/api/v1/devices/{id}") { [unowned self] _, p in
            guard let d = self.registry.device(p["id"]!) else { return .error(404, "not_found", "no device \(p["id"]!)") }
            return .json(200, Self.json(d))
        }
    }

    var status: [(String, JSON)] { [("devices", JSON(registry.all.count))] }

    static func json(_ d: DeviceRecord) -> JSON {
        ["id": JSON(d.id), "kind": JSON(d.kind), "resource": JSON(d.resource), "name": JSON(d.name),
         "origin": JSON(d.origin), "created_at": JSON(d.createdAt), "last_seen": d.lastSeen.map { JSON($0) } ?? .null]
    }
}

@available(*, unavailable) extension DeviceFeature: Sendable {}
