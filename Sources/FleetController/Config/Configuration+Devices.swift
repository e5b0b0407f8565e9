import DevicePairing
import DirectoryCache

/// `[[devices]]` (pre-provisioned devices), `[[resources]]` (their policies), `[pairing]`, and the
/// dynsec admin account in `[broker]`.
extension Configuration {
    static let deviceTopLevelKeys: Set<String> = ["devices", "resources", "pairing"]
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
            try Self.checkPolicy(d)
        }
        for r in try root.tables("resources") {
            try r.allowOnly(["id", "minimum_role", "actions"])
            let id = try r.requiredString("id")
            guard !id.isEmpty, !id.hasPrefix("/"), !id.hasSuffix("/") else {
                throw r.error("id", "\"\(id)\" is not a resource path such as hq/12 or hq/12/12.04")
            }
            guard !resources.contains(where: { $0.id == id }) else { throw r.error("id", "duplicate resource \"\(id)\"") }
            resources.append(ResourcePolicy(id: id, minimumRole: try r.string("minimum_role"),
                                            actions: try r.stringArray("actions")))
            try Self.checkPolicy(r)
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

    /// A misspelt role must not quietly fall back to the default and admit everyone.
    private static func checkPolicy(_ t: TableReader) throws(ConfigError) {
        if let role = try t.string("minimum_role"), Role(text: role) == nil {
            throw t.error("minimum_role", "unknown role \"\(role)\"; expected one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let known = Action.known.map(\.rawValue)
        for action in try t.stringArray("actions") ?? [] where !known.contains(action) {
            throw t.error("actions", "unknown action \"\(action)\"; expected some of \(known.joined(separator: ", "))")
        }
    }

    /// The policy for a device on `resource`: the `[[resources]]` entry for it or the nearest one
    /// above it in the path.
    func resourcePolicy(for resource: String) -> ResourcePolicy? {
        var best: ResourcePolicy?
        for r in resources where resource == r.id || resource.hasPrefix(r.id + "/") {
            if r.id.count > (best?.id.count ?? -1) { best = r }
        }
        return best
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
