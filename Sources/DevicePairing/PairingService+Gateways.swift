/// Sensor gateways with their own broker accounts: each may publish only under
/// `<prefix>/ingest/<name>/#`, and is registered with the envelope format it speaks.
extension PairingService {
    public struct GatewayCredentials: Sendable, Equatable {
        public var gateway: GatewayRecord
        public var username: String
        public var password: String
        public var topic: String
    }

    /// Creates (or re-creates, with a new password) the gateway's account, then registers it.
    /// `format` and `timeZone` must already be checked by the caller against the ingest side's
    /// formats and zones.
    public func addGateway(
        name: String, format: String, timeZone: String? = nil,
        _ done: @escaping (Result<GatewayCredentials, PairingError>) -> Void) {
        let op = "gateways add \(name)"
        guard isValidDeviceID(name), name.utf8.count <= 48 else {
            return done(.failure(PairingError(.invalidArgument, op, "a gateway name is 1-48 of a-z, 0-9, '-', '_', '.'", field: "name")))
        }
        guard let dynsec else {
            return done(.failure(PairingError(.notConfigured, op, "gateway accounts need [broker] admin_username and admin_password_file")))
        }
        let password = randomSecret()
        dynsec.send(DynsecCommands.createGateway(name: name, password: password, prefix: prefix), operation: op) { [unowned self] result in
            let checked = self.checked(result, op, tolerate: ["Client not found", "Role not found"]).flatMap { _ -> Result<GatewayCredentials, PairingError> in
                let g = GatewayRecord(name: name, format: format, timeZone: timeZone,
                                      createdAt: self.registry.gateway(name)?.createdAt ?? self.now)
                do { try self.registry.saveGateway(g) } catch {
                    dynsec.send(DynsecCommands.deleteGateway(name: name), operation: "revoke gateway \(name)") { _ in }
                    return .failure(PairingError(.store, op, "\(error)"))
                }
                return .success(GatewayCredentials(gateway: g, username: DynsecCommands.gatewayUsername(name), password: password,
                                                   topic: "\(self.prefix)/ingest/\(name)/"))
            }
            done(checked)
        }
    }

    /// Revokes the gateway's account (kicking it) and forgets it.
    public func removeGateway(name: String, _ done: @escaping (Result<Void, PairingError>) -> Void) {
        let op = "gateways remove \(name)"
        guard registry.gateway(name) != nil else { return done(.failure(PairingError(.notFound, op, "no gateway \(name)"))) }
        guard let dynsec else { return done(.failure(PairingError(.notConfigured, op, "no dynsec admin account configured"))) }
        dynsec.send(DynsecCommands.deleteGateway(name: name), operation: op) { [unowned self] result in
            done(self.checked(result, op, tolerate: ["Client not found", "Role not found"]).flatMap { _ in
                do { try self.registry.removeGateway(name) } catch { return .failure(PairingError(.store, op, "\(error)")) }
                return .success(())
            })
        }
    }
}
