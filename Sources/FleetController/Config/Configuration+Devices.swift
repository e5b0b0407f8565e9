import DevicePairing

/// `[[devices]]` (pre-provisioned devices), `[pairing]`, and the dynsec admin account in `[broker]`.
extension Configuration {
    static let deviceTopLevelKeys: Set<String> = ["devices", "pairing"]
    static let deviceKinds: Set<String> = PairingHello.kinds

    struct Pairing {
        /// The publish-only account panels say hello with (printed by `broker init`).
        var bootstrapUsername: String?
        var codeTTL: Duration = .seconds(600)
        var maxFailures = 5
        var failureWindow: Duration = .seconds(600)
        var cooldown: Duration = .seconds(600)

        var policy: PairingPolicy {
            var p = PairingPolicy()
            p.codeTTL = codeTTL.seconds
            p.maxFailures = maxFailures
            p.failureWindow = failureWindow.seconds
            p.cooldown = cooldown.seconds
            return p
        }
    }

    mutating func readDevices(_ root: TableReader) throws(ConfigError) {
        for d in try root.tables("devices") {
            try d.allowOnly(["id", "kind", "resource", "name", "minimum_role", "actions"])
            devices.append(Device(id: try d.requiredString("id"), kind: try d.requiredString("kind"),
                                  resource: try d.requiredString("resource"), name: try d.string("name"),
                                  minimumRole: try d.string("minimum_role"), actions: try d.stringArray("actions")))
        }
        if let b = try root.subtable("broker") {
            broker.adminUsername = try b.string("admin_username")
            broker.adminPasswordFile = try b.string("admin_password_file")
            if broker.adminUsername != nil && broker.adminPasswordFile == nil {
                throw b.error("admin_username", "needs admin_password_file beside it")
            }
        }
        if let p = try root.subtable("pairing") {
            try p.allowOnly(["bootstrap_username", "code_ttl", "max_failures", "failure_window", "cooldown"])
            pairing.bootstrapUsername = try p.string("bootstrap_username")
            pairing.codeTTL = try p.duration("code_ttl", default: pairing.codeTTL)
            pairing.maxFailures = try p.int("max_failures", default: pairing.maxFailures, range: 1...100)
            pairing.failureWindow = try p.duration("failure_window", default: pairing.failureWindow)
            pairing.cooldown = try p.duration("cooldown", default: pairing.cooldown)
            if pairing.codeTTL < .seconds(30) || pairing.codeTTL > .seconds(3600) {
                throw p.error("code_ttl", "must be between 30s and 1h (RFC 8628: short validity, few attempts)")
            }
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
