import FleetJSON
import FleetLoop
import MQTTBridge

/// Device management: every change that touches the broker waits for its dynsec answer before the
/// registry changes, so `devices.sqlite` never claims more than the broker enforces.
extension PairingService {
    public typealias Done = (Result<DeviceRecord?, PairingError>) -> Void

    func existing(_ id: String, _ op: String) -> Result<DeviceRecord, PairingError> {
        guard let d = registry.device(id) else { return .failure(PairingError(.notFound, op, "no device \(id)")) }
        return .success(d)
    }

    /// Renames or moves a device (no broker change); the device gets its new config at once.
    public func update(_ id: String, name: String??, resource: String?) -> Result<DeviceRecord, PairingError> {
        existing(id, "update \(id)").flatMap { d in
            var d = d
            if let name { d.name = name }
            if let resource {
                guard !resource.isEmpty, resource.utf8.count <= 128 else {
                    return .failure(PairingError(.invalidArgument, "move \(id)", "resource must be 1-128 characters", field: "resource"))
                }
                d.resource = resource
            }
            do { try registry.save(d) } catch {
                return .failure(PairingError(.store, "update \(id)", "\(error)"))
            }
            if d.hasAccount { publishConfig(d) }
            return .success(d)
        }
    }

    /// Disabling kicks the device off the broker at once; its slot and config stay.
    public func setDisabled(_ id: String, _ disabled: Bool, _ done: @escaping Done) {
        let op = "\(disabled ? "disable" : "enable") \(id)"
        switch existing(id, op) {
        case .failure(let e): done(.failure(e))
        case .success(let d):
            guard d.hasAccount, let dynsec else {
                return done(.failure(PairingError(.conflict, op, "\(id) has no broker account of its own (pre-provisioned)")))
            }
            let cmd = disabled ? DynsecCommands.disableClient(id) : DynsecCommands.enableClient(id)
            dynsec.send([cmd], operation: op) { [unowned self] result in
                done(self.checked(result, op).flatMap { _ in
                    var d = d
                    d.disabled = disabled
                    do { try self.registry.save(d) } catch { return .failure(PairingError(.store, op, "\(error)")) }
                    self.publishConfig(d)
                    return .success(d)
                })
            }
        }
    }

    /// A new password for the device: sent to it on `down/credentials` (QoS 1) before the broker
    /// takes it, so a connected panel learns it before it needs it.
    public func rotate(_ id: String, _ done: @escaping (Result<String, PairingError>) -> Void) {
        let op = "rotate \(id)"
        switch existing(id, op) {
        case .failure(let e): done(.failure(e))
        case .success(let d):
            guard d.hasAccount, let dynsec else {
                return done(.failure(PairingError(.conflict, op, "\(id) has no broker account of its own")))
            }
            let password = randomSecret()
            let body: JSON = ["password": JSON(password)]
            mqtt.publish(MQTTMessage(topic: "\(prefix)/dev/\(id)/down/credentials", payload: body.bytes, qos: 1))
            dynsec.send([DynsecCommands.setPassword(id, password)], operation: op) { [unowned self] result in
                done(self.checked(result, op).map { _ in password })
            }
        }
    }

    /// Deletes the device's broker account (kicking it at once), then the device.
    public func unpair(_ id: String, _ done: @escaping Done) {
        let op = "unpair \(id)"
        switch existing(id, op) {
        case .failure(let e): done(.failure(e))
        case .success(let d):
            if d.origin == "config" {
                return done(.failure(PairingError(.conflict, op, "\(id) is pre-provisioned in the config file; remove it there and reload")))
            }
            guard d.hasAccount else {
                do { try registry.remove(id) } catch { return done(.failure(PairingError(.store, op, "\(error)"))) }
                return done(.success(nil))
            }
            revoke(id, operation: op) { [unowned self] result in
                done(self.checked(result, op, tolerate: ["Client not found", "Role not found"]).flatMap { _ in
                    do { try self.registry.remove(id) } catch { return .failure(PairingError(.store, op, "\(error)")) }
                    self.accountMissing.remove(id)
                    return .success(nil)
                })
            }
        }
    }

    /// A new panel (showing `code`) takes `id`'s slot: resource, name and policy. The old account is
    /// revoked as soon as the new one exists.
    public func replace(_ id: String, code: String) -> Result<PendingPairing, PairingError> {
        existing(id, "replace \(id)").flatMap { old in
            approve(code: code, resource: old.resource, name: old.name, replacing: id)
        }
    }

    /// Provisioning through the API (production lines): a device record without pairing.
    public func provision(_ d: DeviceRecord) -> Result<DeviceRecord, PairingError> {
        let op = "provision \(d.id)"
        guard isValidDeviceID(d.id), !d.id.hasPrefix(PairingHello.reservedPrefix) else {
            return .failure(PairingError(.invalidArgument, op, "not a device id: 1-64 of a-z, 0-9, '-', '_', '.'", field: "id"))
        }
        guard PairingHello.kinds.contains(d.kind) else {
            return .failure(PairingError(.invalidArgument, op, "unknown kind \(d.kind)", field: "kind"))
        }
        guard registry.device(d.id) == nil else { return .failure(PairingError(.conflict, op, "\(d.id) exists")) }
        var d = d
        d.origin = "api"
        d.createdAt = now
        do { try registry.save(d) } catch { return .failure(PairingError(.store, op, "\(error)")) }
        return .success(d)
    }

    /// Dynsec answers → success, or the first error (except the tolerated ones) as `brokerRefused`.
    func checked(_ result: Result<[DynsecResponse], PairingError>, _ op: String,
                 tolerate: Set<String> = []) -> Result<[DynsecResponse], PairingError> {
        result.flatMap { answers in
            if let bad = answers.first(where: { $0.error != nil && !tolerate.contains($0.error!) }) {
                return .failure(PairingError(.brokerRefused, op, "broker refused \(bad.command): \(bad.error!)"))
            }
            return .success(answers)
        }
    }
}
