import FleetStore

/// A claimed sensor with its decoder (nil for devices whose gateway decodes: Pressac EnOcean,
/// Irisys) and where the claim came from.
struct ClaimedSensor {
    var sensor: Sensor
    var decoder: (any SensorDecoder)?
    var origin: ClaimOrigin
}

/// An installer's window in which new devices of one model are claimed to one resource as they
/// are first heard ("permit join" for sensors).
public struct PermitWindow: Equatable, Sendable {
    /// The longest window an installer may open; a forgotten window must not keep claiming.
    public static let maxSeconds = 900.0

    public var vendor: String
    public var model: String
    public var resource: String
    public var opened: Double
    public var until: Double
    /// The counting lines every VS133 / VS135 the window claims lists (sorted); nil is line 1.
    public var lines: [Int]?
    public var claimed: [String] = []
    /// Devices first heard in the window but not claimed, with why (shown in the discovered list).
    public var refused: [String: String] = [:]

    public init(vendor: String, model: String, resource: String, opened: Double, until: Double, lines: [Int]? = nil) {
        self.vendor = vendor
        self.model = model
        self.resource = resource
        self.opened = opened
        self.until = until
        self.lines = lines
    }
}

extension SensorIngest {
    /// Vendors whose gateways send decoded values, so a claim needs no payload decoder.
    static let gatewayDecodedVendors: Set<String> = ["pressac", "irisys"]

    /// Claims a sensor: its messages are decoded with its model and stored under its resource
    /// from now on. Claiming again replaces the earlier claim. Non-config claims are stored in
    /// `telemetry.sqlite`, so they survive restarts.
    ///
    /// - Throws: ``DecodeError`` for an unknown vendor or model, or a bad device id; a store
    ///   failure is reported as `.invalidField` on `store` and nothing is claimed.
    public func claim(_ sensor: Sensor, origin: ClaimOrigin = .config) throws(DecodeError) {
        let claimed = try resolve(sensor)
        if origin != .config {
            do {
                try store.saveClaim(StoredClaim(sensor: claimed.sensor, origin: origin, claimedAt: clock.unixTime))
            } catch {
                throw DecodeError(.invalidField, field: "store", reason: "cannot store the claim: \(error)")
            }
            configClaims.remove(claimed.sensor.devEUI)
        } else {
            configClaims.insert(claimed.sensor.devEUI)
        }
        claimedSensors[claimed.sensor.devEUI] = ClaimedSensor(
            sensor: claimed.sensor, decoder: claimed.decoder, origin: origin)
        forgetUncountedLines(claimed.sensor)
    }

    /// Stops decoding a sensor; its messages count as unknown again. Returns false when nothing
    /// was claimed under that id.
    @discardableResult
    public func unclaim(devEUI: String) -> Bool {
        let id = Self.canonicalDeviceID(devEUI) ?? devEUI
        configClaims.remove(id)
        let stored = (try? store.deleteClaim(device: id)) ?? false
        return claimedSensors.removeValue(forKey: id) != nil || stored
    }

    /// Restores the claims installers made through the API or a permit window. Call before
    /// applying config claims, which win.
    public func loadStoredClaims() {
        do {
            for stored in try store.claims() {
                do {
                    let resolved = try resolve(stored.sensor)
                    claimedSensors[resolved.sensor.devEUI] = ClaimedSensor(
                        sensor: resolved.sensor, decoder: resolved.decoder, origin: stored.origin)
                } catch {
                    logger.warning(
                        "stored claim no longer valid; device treated as unknown",
                        metadata: ["device": "\(stored.sensor.devEUI)", "error": "\(error)"])
                }
            }
        } catch {
            logger.error("cannot read stored sensor claims", metadata: ["error": "\(error)"])
        }
    }

    /// The claimed sensors, with canonical ids and model names, sorted by id.
    public var sensors: [Sensor] { claimedSensors.values.map(\.sensor).sorted { $0.devEUI < $1.devEUI } }

    /// Where a sensor's claim came from, nil when unclaimed.
    public func claimOrigin(_ device: String) -> ClaimOrigin? {
        claimedSensors[Self.canonicalDeviceID(device) ?? device]?.origin
    }

    /// A DevEUI in canonical form, or for gateway-decoded devices their id as given (trimmed).
    public static func canonicalDeviceID(_ text: String) -> String? {
        if let eui = Uplink.canonicalDevEUI(text) { return eui }
        let trimmed = text.filter { !$0.isWhitespace }
        guard !trimmed.isEmpty, trimmed.utf8.count <= 64, trimmed.count == text.count else { return nil }
        return trimmed
    }

    private func resolve(_ sensor: Sensor) throws(DecodeError) -> (sensor: Sensor, decoder: (any SensorDecoder)?) {
        let vendor = sensor.vendor.lowercased()
        let gatewayDecoded = Self.gatewayDecodedVendors.contains(vendor)
        let id = gatewayDecoded ? Self.canonicalDeviceID(sensor.devEUI) : Uplink.canonicalDevEUI(sensor.devEUI)
        guard let id else {
            throw DecodeError(
                .invalidField, field: "devEUI",
                reason: "'\(sensor.devEUI)' is not " + (gatewayDecoded ? "a device id" : "16 hex digits"))
        }
        guard !sensor.resource.isEmpty else {
            throw DecodeError(.invalidField, field: "resource", reason: "a sensor needs a resource, e.g. hq/3/3.14")
        }
        var claimed = sensor
        claimed.devEUI = id
        claimed.vendor = vendor
        let decoder: (any SensorDecoder)?
        do {
            decoder = try registry.decoder(vendor: vendor, model: sensor.model)
        } catch {
            guard gatewayDecoded else { throw error }
            decoder = nil
        }
        if let decoder {
            claimed.vendor = decoder.vendor
            claimed.model = decoder.model
        }
        claimed.lines = try CountedLines.validate(sensor.lines, model: claimed.model)
        return (claimed, decoder)
    }

    // MARK: - Permit window

    /// Opens (or replaces) the claim window. It is stored in `telemetry.sqlite` with its absolute
    /// expiry, so a restart within it reopens it (``restorePermit()``).
    ///
    /// - Parameter lines: the counting lines each VS133 / VS135 it claims lists, checked as a
    ///   claim's are (``CountedLines/validate(_:model:)``); nil claims with line 1.
    /// - Throws: ``DecodeError`` for more than ``PermitWindow/maxSeconds``, a model no decoder
    ///   knows (gateway-decoded vendors excepted), or `lines` a claim of the model could not list;
    ///   `.invalidField` on `store` when the window cannot be stored, and then no window is open.
    @discardableResult
    public func openPermit(
        vendor: String, model: String, resource: String, seconds: Double, lines: [Int]? = nil
    ) throws(DecodeError) -> PermitWindow {
        guard seconds > 0, seconds <= PermitWindow.maxSeconds else {
            throw DecodeError(
                .invalidField, field: "seconds",
                reason: "\(seconds) is out of range; a window lasts 1 to \(Int(PermitWindow.maxSeconds)) seconds")
        }
        if lines != nil, !CountedLines.applies(to: model) {
            throw DecodeError(
                .invalidField, field: "lines",
                reason: "only a VS133 or VS135 has counting lines to choose; a \(model) window claims without lines, "
                    + "so open it without them")
        }
        let probe = try resolve(
            Sensor(devEUI: "0000000000000000", vendor: vendor, model: model, resource: resource, lines: lines))
        let now = clock.unixTime
        let window = PermitWindow(
            vendor: probe.sensor.vendor, model: probe.sensor.model, resource: resource, opened: now, until: now + seconds,
            lines: probe.sensor.lines)
        do {
            try store.savePermit(window)
        } catch {
            throw DecodeError(.invalidField, field: "store", reason: "cannot store the claim window: \(error)")
        }
        permit = window
        logger.notice(
            "claim window open",
            metadata: [
                "model": "\(window.model)", "resource": "\(resource)", "seconds": "\(seconds)",
                "lines": "\(window.lines.map(TelemetryStore.linesText) ?? "1")",
            ])
        return window
    }

    /// The open window, nil once it has expired or was closed.
    public var permitWindow: PermitWindow? {
        guard let permit, clock.unixTime < permit.until else { return nil }
        return permit
    }

    /// Closes the window, here and in the store. A window that cannot be deleted from the store
    /// is closed now but would reopen after a restart until it expires: logged, and the error is
    /// returned for the caller to report.
    @discardableResult
    public func closePermit() -> StoreError? {
        permit = nil
        do {
            try store.deletePermit()
            return nil
        } catch {
            logger.error("cannot remove the closed claim window from the store", metadata: ["error": "\(error)"])
            return error
        }
    }

    /// Reopens the window stored before a restart with the time it has left; one that expired
    /// meanwhile is dropped. Its refused list starts empty: those devices are judged again.
    /// Call after ``loadStoredClaims()``.
    public func restorePermit() {
        let stored: PermitWindow?
        do {
            stored = try store.storedPermit()
        } catch {
            logger.error("cannot read the stored claim window; none is open", metadata: ["error": "\(error)"])
            return
        }
        guard let stored else { return }
        let now = clock.unixTime
        guard now < stored.until else {
            permit = nil
            do { try store.deletePermit() } catch {
                logger.warning("cannot remove the expired claim window", metadata: ["error": "\(error)"])
            }
            logger.info("claim window expired while stopped", metadata: ["model": "\(stored.model)", "resource": "\(stored.resource)"])
            return
        }
        // A damaged lines value would make every claim of the window fail or count the wrong
        // door: the window is dropped and the installer told, rather than claiming on a guess.
        do {
            _ = try CountedLines.validate(stored.lines, model: stored.model)
        } catch {
            do { try store.deletePermit() } catch {
                logger.warning("cannot remove the damaged claim window", metadata: ["error": "\(error)"])
            }
            logger.error(
                "stored claim window has unusable lines; it is closed, open it again with `sensors permit`",
                metadata: ["model": "\(stored.model)", "resource": "\(stored.resource)", "error": "\(error)"])
            return
        }
        permit = stored
        logger.notice(
            "claim window reopened",
            metadata: [
                "model": "\(stored.model)", "resource": "\(stored.resource)",
                "remaining_s": "\(Int((stored.until - now).rounded()))",
            ])
    }

    /// A LoRaWAN device first heard during the window is claimed only when its uplink decodes
    /// cleanly with the window's model — no error, no warning — and either carries a measurement
    /// or the network server's device name names the model. The second condition is for a
    /// join's basic-info frame (`FF 01`, `FF 0A`, …), which every Milesight model sends alike and
    /// so proves nothing about the model on its own. Anything else stays unclaimed, with the
    /// reason kept for the discovered list: decoding by the installer's model, never a guess.
    func claimByPermit(_ uplink: Uplink, at now: Double) -> ClaimedSensor? {
        guard let window = permitWindow else { return nil }
        guard isNew(uplink.devEUI, since: window.opened) else { return refuseHeardBefore(uplink.devEUI) }
        let model = "\(window.vendor) \(window.model)"
        let decoder: any SensorDecoder
        do {
            decoder = try registry.decoder(vendor: window.vendor, model: window.model)
        } catch {
            return refuse(uplink.devEUI, "the window is for \(model), which has no LoRaWAN decoder")
        }
        let decoded: DecodedUplink
        do {
            decoded = try decoder.decode(fPort: uplink.fPort, payload: uplink.payload)
        } catch {
            return refuse(uplink.devEUI, "does not decode as \(model): \(error.reason)")
        }
        if let warning = decoded.warnings.first {
            return refuse(uplink.devEUI, "decodes as \(model) only in part: \(warning)")
        }
        let named = uplink.deviceName.map { $0.uppercased().contains(window.model.uppercased()) } ?? false
        guard !decoded.measurements.isEmpty || named else {
            return refuse(
                uplink.devEUI, "its uplink carries no measurement (a join's basic-info frame?) and the network "
                    + "server does not name it \(window.model); claimed on its first data uplink within the window")
        }
        return permitClaim(uplink.devEUI, window)
    }

    /// A gateway-decoded device matches when vendor and (if the gateway says) model agree.
    func claimByPermit(_ report: DeviceMessage, at now: Double) -> ClaimedSensor? {
        guard let window = permitWindow else { return nil }
        guard isNew(report.device, since: window.opened) else { return refuseHeardBefore(report.device) }
        guard report.vendor.lowercased() == window.vendor else {
            return refuse(report.device, "a \(report.vendor) device; the window is for \(window.vendor) \(window.model)")
        }
        if let model = report.model, model.uppercased() != window.model.uppercased() {
            return refuse(report.device, "the gateway says \(model); the window is for \(window.model)")
        }
        return permitClaim(report.device, window)
    }

    /// A device heard before the window opened is a neighbour's as likely as the one being
    /// installed: the installer claims it by id.
    private func refuseHeardBefore(_ device: String) -> ClaimedSensor? {
        refuse(device, "first heard before the window opened; if it is the one being installed, claim it by id")
    }

    /// Notes why the window passed a device over; bounded, so a flood of ids cannot grow it.
    private func refuse(_ device: String, _ reason: String) -> ClaimedSensor? {
        if permit?.refused[device] == nil, (permit?.refused.count ?? 0) >= 1_000 { return nil }
        permit?.refused[device] = reason
        return nil
    }

    private func isNew(_ device: String, since opened: Double) -> Bool {
        guard let first = try? store.firstSeen(device: device) else { return true }
        return first >= opened
    }

    private func permitClaim(_ device: String, _ window: PermitWindow) -> ClaimedSensor? {
        do {
            try claim(
                Sensor(devEUI: device, vendor: window.vendor, model: window.model, resource: window.resource,
                       lines: window.lines),
                origin: .permit)
        } catch {
            logOnce(key: device + "|permit", level: .warning, "claim window could not claim: \(error)", metadata: [:])
            return nil
        }
        counters.permitClaims += 1
        permit?.claimed.append(device)
        logger.notice("claimed by window", metadata: ["device": "\(device)", "model": "\(window.model)", "resource": "\(window.resource)"])
        return claimedSensors[device]
    }
}
