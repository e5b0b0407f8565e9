import FleetJSON
import FleetLoop

/// Two truths kept in step: the broker's dynsec accounts and `devices.sqlite`. Runs whenever the
/// admin channel (re)connects, i.e. at start and after every broker reconnect.
extension PairingService {
    /// Accounts of panels or gateways the registry does not know are deleted (a crash between the
    /// broker step and the registry write leaves exactly that); paired devices without an account
    /// are flagged (their password lives only on the panel: it must be paired again); the enabled
    /// state is made to match the registry, and every paired device gets its retained config again.
    public func reconcile(_ done: (() -> Void)? = nil) {
        guard let dynsec else { done?(); return }
        dynsec.send([DynsecCommands.listClients()], operation: "reconcile") { [unowned self] result in
            defer { done?() }
            guard case .success(let answers) = result, let clients = answers.first?.data?["clients"]?.array else {
                self.logger.warning("reconciliation skipped: could not list the broker's accounts")
                return
            }
            var devices: [String: Bool] = [:]  // username → disabled
            var gateways: Set<String> = []
            for c in clients {
                guard let user = c["username"]?.string else { continue }
                let roles = (c["roles"]?.array ?? []).compactMap { $0["rolename"]?.string }
                if roles.contains(DynsecCommands.deviceRole(user)) { devices[user] = c["disabled"]?.bool ?? false }
                if user.hasPrefix("fc-gw-"), roles.contains(DynsecCommands.gatewayRole(String(user.dropFirst(6)))) {
                    gateways.insert(String(user.dropFirst(6)))
                }
            }
            // Panels being paired right now have an account and no row yet: leave them alone.
            let approving = Set(self.machine.pending.values.filter {
                if case .approving = $0.state { return true } else { return false }
            }.map(\.hello.deviceID))
            var commands: [JSON] = []
            var removed = 0
            for (user, _) in devices where self.registry.device(user)?.hasAccount != true && !approving.contains(user) {
                commands += DynsecCommands.deleteDevice(id: user)
                removed += 1
                self.logger.warning("broker account \(user) has no paired device: deleted")
            }
            for g in gateways where self.registry.gateway(g) == nil {
                commands += DynsecCommands.deleteGateway(name: g)
                removed += 1
                self.logger.warning("broker account of gateway \(g) is not registered: deleted")
            }
            var missing: Set<String> = []
            for d in self.registry.all where d.hasAccount {
                guard let disabled = devices[d.id] else {
                    missing.insert(d.id)
                    continue
                }
                if disabled != d.disabled {
                    commands.append(d.disabled ? DynsecCommands.disableClient(d.id) : DynsecCommands.enableClient(d.id))
                }
                // A crash between the registry write and the config publish, or a broker that lost its
                // retained store, would leave the panel without its config: send it again.
                self.publishConfig(d)
            }
            for id in missing.subtracting(self.accountMissing) {
                self.logger.error("device \(id) is paired but has no broker account; pair it again (devices replace \(id) CODE)")
            }
            self.accountMissing = missing
            self.lastReconcile = (self.now, removed, missing.count)
            if !commands.isEmpty {
                dynsec.send(commands, operation: "reconcile") { _ in }
            }
        }
    }
}
