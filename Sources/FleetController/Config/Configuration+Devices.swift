/// `[[devices]]`: pre-provisioned devices.
extension Configuration {
    static let deviceTopLevelKeys: Set<String> = ["devices"]
    static let deviceKinds: Set<String> = ["room_display", "kiosk", "checkin_panel", "people_counter", "eink_display"]

    mutating func readDevices(_ root: TableReader) throws(ConfigError) {
        for d in try root.tables("devices") {
            try d.allowOnly(["id", "kind", "resource", "name", "minimum_role", "actions"])
            devices.append(Device(id: try d.requiredString("id"), kind: try d.requiredString("kind"),
                                  resource: try d.requiredString("resource"), name: try d.string("name"),
                                  minimumRole: try d.string("minimum_role"), actions: try d.stringArray("actions")))
        }
    }

    func validateDevices(_ root: TableReader) throws(ConfigError) {
        var ids = Set<String>()
        for (i, d) in devices.enumerated() {
            let at = "devices[\(i)]"
            guard isValidDeviceID(d.id) else {
                throw root.error(at: "\(at).id", "\"\(d.id)\" is not a valid device id: 1-64 of a-z, 0-9, '-', '_', '.'")
            }
            guard ids.insert(d.id).inserted else { throw root.error(at: "\(at).id", "duplicate device id \"\(d.id)\"") }
            guard Self.deviceKinds.contains(d.kind) else {
                throw root.error(at: "\(at).kind", "unknown kind \"\(d.kind)\"; expected one of \(Self.deviceKinds.sorted().joined(separator: ", "))")
            }
        }
    }
}

func isValidDeviceID(_ id: String) -> Bool {
    !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy {
        ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d || $0 == 0x5f || $0 == 0x2e
    } && !id.hasPrefix(".")
}
