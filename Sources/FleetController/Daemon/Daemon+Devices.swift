import CFleetShims
import DevicePairing
import DirectoryCache
import FleetJSON
import FleetLoop
import MQTTBridge
import SensorIngest

/// Device requests over MQTT (`fc/v1/dev/<id>/up/<op>`) and the policy a device carries.
extension Daemon {
    func deviceContext(_ id: String) -> DeviceContext? {
        guard let d = devices.device(id) else { return nil }
        var ctx = DeviceContext(id: d.id, kind: d.kind, resource: d.resource)
        if let r = d.minimumRole.flatMap({ Role(text: $0) }) { ctx.minimumRole = r }
        if let a = d.actions { ctx.allowedActions = Set(a.map { Action(rawValue: $0) }) }
        return ctx
    }

    func installDeviceOps() {
        router.on("authorize") { [unowned self] req in
            self.devices.touch(req.deviceID)
            guard let credential = Self.credential(from: req.body["credential"]) else {
                return ["error": "bad_request", "message": "credential must be {\"type\": \"badge|email|user_id\", \"value\": \"…\"}"]
            }
            let action = Action(rawValue: req.body["action"]?.string ?? "checkin")
            return self.directory.authorize(credential: credential, deviceID: req.deviceID, action: action,
                                            devices: self.deviceContext).json()
        }
        router.on("users.search") { [unowned self] req in
            guard self.devices.device(req.deviceID) != nil else {
                return ["error": "device_not_allowed", "message": "unknown device"]
            }
            self.devices.touch(req.deviceID)
            let q = req.body["q"]?.string ?? ""
            let limit = min(max(req.body["limit"]?.int ?? 10, 1), 50)
            return ["users": .array(self.directory.search(prefix: q, limit: limit).map { $0.json() })]
        }
        router.on("status") { [unowned self] req in
            self.devices.touch(req.deviceID)
            return ["controller": "online", "known_device": JSON.bool(self.devices.device(req.deviceID) != nil),
                    "cache_age_s": self.directory.cacheAge.map { JSON($0.rounded()) } ?? .null]
        }
    }

    static func credential(from json: JSON?) -> Credential? {
        guard let type = json?["type"]?.string.flatMap(Credential.Kind.init(rawValue:)),
              let value = json?["value"]?.string, !value.isEmpty, value.utf8.count <= 256 else { return nil }
        return Credential(type: type, value: value)
    }

}
