import FleetJSON
import FleetLoop
import Logging

/// Sensor ingest: envelope → claimed sensor → model decoder → duplicate filter → buffered
/// readings, committed once per loop tick by ``flush()``.
///
/// ``handle(topic:payload:format:)`` never throws and never writes: whatever goes wrong with a
/// message is counted, logged once per device and cause, and queued for the dead-letter table,
/// so a broken sensor or gateway can never stall or stop the loop. All writes happen in
/// ``flush()``, in one transaction. Loop-bound.
public final class SensorIngest {
    /// Larger messages are not parsed. A LoRaWAN payload is at most 242 bytes; even a verbose
    /// envelope stays far below this.
    public static let maxPayloadBytes = 64 * 1024
    /// How much of an oversized message the dead-letter table keeps.
    static let oversizedKeptBytes = 4 * 1024
    /// Readings kept while the database refuses writes; older ones are dropped beyond this.
    static let maxPendingReadings = 100_000
    /// How often old duplicate-filter entries and dead letters are pruned.
    static let pruneInterval = 600.0
    /// Dead letters kept with their bytes (per-device counts are kept regardless).
    static let deadLettersKept = 10_000

    /// What has happened since start; never reset.
    public private(set) var counters = Counters()

    private let store: TelemetryStore
    private let clock: any Clock
    private let logger: Logger
    private let registry: DecoderRegistry
    private let dedupeWindow: Double
    private var claimedSensors: [String: (sensor: Sensor, decoder: any SensorDecoder)] = [:]
    private var pending = TelemetryBatch()
    private var pendingSeen: Set<UplinkKey> = []
    private var pendingDiscovered: [String: Int] = [:]
    private var logged: Set<String> = []
    private var lastPrune: Double?
    private var storeFailing = false

    /// - Parameters:
    ///   - dedupeWindow: seconds an uplink's (DevEUI, fCnt, payload) stays known. Copies arrive
    ///     within seconds, gateway replays after an outage within hours; a device that rejoins
    ///     restarts its counter, so the window must not be endless.
    public init(
        store: TelemetryStore, clock: any Clock, logger: Logger, registry: DecoderRegistry = .standard,
        dedupeWindow: Double = 6 * 3600
    ) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.registry = registry
        self.dedupeWindow = dedupeWindow
    }

    // MARK: - Sensors

    /// Claims a sensor: its uplinks are decoded with its model from now on. Claiming again
    /// replaces the earlier claim.
    ///
    /// - Throws: ``DecodeError`` for an unknown vendor or model, or a DevEUI that is not 16 hex digits.
    public func claim(_ sensor: Sensor) throws(DecodeError) {
        guard let devEUI = Uplink.canonicalDevEUI(sensor.devEUI) else {
            throw DecodeError(.invalidField, field: "devEUI", reason: "'\(sensor.devEUI)' is not 16 hex digits")
        }
        let decoder = try registry.decoder(vendor: sensor.vendor, model: sensor.model)
        var claimed = sensor
        claimed.devEUI = devEUI
        claimed.vendor = decoder.vendor
        claimed.model = decoder.model
        claimedSensors[devEUI] = (claimed, decoder)
    }

    /// Stops decoding a sensor; its uplinks count as unknown again.
    public func unclaim(devEUI: String) {
        guard let devEUI = Uplink.canonicalDevEUI(devEUI) else { return }
        claimedSensors[devEUI] = nil
    }

    /// The claimed sensors, with canonical DevEUIs and model names, sorted by DevEUI.
    public var sensors: [Sensor] { claimedSensors.values.map(\.sensor).sorted { $0.devEUI < $1.devEUI } }

    /// Readings waiting for the next ``flush()``.
    public var pendingReadings: Int { pending.readings.count }

    // MARK: - Messages

    /// Takes one message from a sensor gateway. Never throws; see the type's documentation.
    public func handle(topic: String, payload: [UInt8], format: EnvelopeFormat) {
        counters.received += 1
        let now = clock.unixTime
        guard payload.count <= Self.maxPayloadBytes else {
            counters.oversized += 1
            reject(
                topic: topic, device: "", cause: "oversized",
                reason: "oversized: \(payload.count) bytes (limit \(Self.maxPayloadBytes)); "
                    + "first \(Self.oversizedKeptBytes) kept",
                payload: Array(payload.prefix(Self.oversizedKeptBytes)), at: now)
            return
        }
        let messages: [IngestMessage]
        do {
            messages = try Envelope.parse(format, topic: topic, payload: payload)
        } catch {
            reject(
                topic: topic, device: "", cause: error.code.name, reason: error.description, payload: payload, at: now)
            return
        }
        for message in messages {
            switch message {
            case .lorawan(let uplink): handle(uplink, topic: topic, payload: payload, at: now)
            case .reading, .presence: break  // vendor JSON messages: handled as their formats arrive
            }
        }
    }

    private func handle(_ uplink: Uplink, topic: String, payload: [UInt8], at now: Double) {
        if let fCnt = uplink.fCnt {
            let key = UplinkKey(devEUI: uplink.devEUI, fCnt: fCnt, payload: uplink.payload)
            if isDuplicate(key, now: now) {
                counters.duplicates += 1
                return
            }
            pendingSeen.insert(key)
            pending.seen.append(.init(key: key, at: now))
        }
        guard let (sensor, decoder) = claimedSensors[uplink.devEUI] else {
            counters.unknownDevice += 1
            discovered(uplink, topic: topic, at: now)
            return
        }
        let decoded: DecodedUplink
        do {
            decoded = try decoder.decode(fPort: uplink.fPort, payload: uplink.payload)
        } catch {
            let error = error.attributed(vendor: decoder.vendor, model: decoder.model)
            reject(
                topic: topic, device: uplink.devEUI, cause: error.code.name, reason: error.description,
                payload: payload, at: now)
            return
        }
        counters.decodeWarnings += decoded.warnings.count
        for warning in decoded.warnings {
            logOnce(key: uplink.devEUI + "|warning|" + warning, level: .notice, "decoded partially: \(warning)",
                    metadata: ["device": "\(uplink.devEUI)", "model": "\(decoder.model)"])
        }
        pending.readings += decoded.readings(
            sensor: sensor.devEUI, resource: sensor.resource, measuredAt: uplink.receivedAt ?? now, receivedAt: now)
    }

    /// Commits everything buffered since the last flush in one transaction and returns the number
    /// of readings written. The daemon calls it once per loop tick and once at shutdown.
    ///
    /// On a database error the batch is kept for the next call (readings beyond
    /// `maxPendingReadings` are dropped oldest first and counted), and the error is logged once
    /// until a flush succeeds again.
    @discardableResult
    public func flush() -> Int {
        let now = clock.unixTime
        var written = 0
        if !pending.isEmpty {
            do {
                try store.commit(pending)
                written = pending.readings.count
                counters.stored += written
                pending = TelemetryBatch()
                pendingSeen.removeAll(keepingCapacity: true)
                pendingDiscovered.removeAll(keepingCapacity: true)
                if storeFailing {
                    storeFailing = false
                    logger.notice("telemetry store writable again")
                }
            } catch {
                counters.storeErrors += 1
                if !storeFailing {
                    storeFailing = true
                    logger.error("cannot write telemetry; keeping the batch", metadata: ["error": "\(error)"])
                }
                let excess = pending.readings.count - Self.maxPendingReadings
                if excess > 0 {
                    pending.readings.removeFirst(excess)
                    counters.dropped += excess
                }
                return 0
            }
        }
        if now - (lastPrune ?? -.infinity) >= Self.pruneInterval {
            lastPrune = now
            do {
                try store.pruneSeen(before: now - dedupeWindow)
                try store.pruneDeadLetters(keep: Self.deadLettersKept)
            } catch {
                logger.warning("cannot prune telemetry tables", metadata: ["error": "\(error)"])
            }
        }
        return written
    }

    // MARK: - Helpers

    private func isDuplicate(_ key: UplinkKey, now: Double) -> Bool {
        if pendingSeen.contains(key) { return true }
        do {
            return try store.isDuplicate(key, since: now - dedupeWindow)
        } catch {
            // Storing a copy twice beats losing an uplink.
            logOnce(key: "store|isDuplicate", level: .warning, "duplicate check failed: \(error)", metadata: [:])
            return false
        }
    }

    private func discovered(_ uplink: Uplink, topic: String, at now: Double) {
        if let index = pendingDiscovered[uplink.devEUI] {
            pending.discovered[index].count += 1
            pending.discovered[index].lastSeen = now
            pending.discovered[index].lastPayload = uplink.payload
            pending.discovered[index].lastTopic = topic
            pending.discovered[index].deviceName = uplink.deviceName ?? pending.discovered[index].deviceName
        } else {
            pendingDiscovered[uplink.devEUI] = pending.discovered.count
            pending.discovered.append(
                DiscoveredDevice(
                    devEUI: uplink.devEUI, firstSeen: now, lastSeen: now, count: 1, lastPayload: uplink.payload,
                    lastTopic: topic, deviceName: uplink.deviceName))
        }
        logOnce(
            key: uplink.devEUI + "|unknown", level: .info, "uplink from an unclaimed device",
            metadata: ["device": "\(uplink.devEUI)", "name": "\(uplink.deviceName ?? "")", "topic": "\(topic)"])
    }

    private func reject(
        topic: String, device: String, cause: String, reason: String, payload: [UInt8], at now: Double
    ) {
        counters.deadLettered += 1
        pending.deadLetters.append(
            DeadLetter(receivedAt: now, topic: topic, device: device, reason: reason, payload: payload))
        logOnce(
            key: device + "|" + cause, level: .warning, "message dead-lettered: \(reason)",
            metadata: ["device": "\(device.isEmpty ? "?" : device)", "topic": "\(topic)"])
    }

    /// Logs the first occurrence of `key` only: a misconfigured sensor repeats its fault with
    /// every uplink, and one line per fault says as much as a thousand.
    private func logOnce(key: String, level: Logger.Level, _ message: String, metadata: Logger.Metadata) {
        guard !logged.contains(key) else { return }
        // Bounded so that a flood of distinct devices cannot grow it without limit; past the
        // bound faults are simply logged again.
        if logged.count >= 10_000 { logged.removeAll() }
        logged.insert(key)
        logger.log(level: level, "\(message)", metadata: metadata)
    }
}

@available(*, unavailable) extension SensorIngest: Sendable {}

/// A sensor an installer claimed: which device, how to decode it, and where it is.
public struct Sensor: Equatable, Sendable {
    /// 16 uppercase hex digits (claiming canonicalizes it).
    public var devEUI: String
    /// Decoder vendor key, e.g. `milesight`.
    public var vendor: String
    /// Decoder model, e.g. `AM307` (any case; aliases allowed).
    public var model: String
    /// Where it is, e.g. `hq/3/3.14`; readings carry it.
    public var resource: String

    public init(devEUI: String, vendor: String, model: String, resource: String) {
        self.devEUI = devEUI
        self.vendor = vendor
        self.model = model
        self.resource = resource
    }
}

/// The JSON shapes gateways and network servers publish uplinks in. The raw values are the
/// `format` key of `[[ingest.subscriptions]]` and of registered gateways.
extension SensorIngest {
    /// What ingest has done since start, for `/metrics` and `status`.
    public struct Counters: Equatable, Sendable {
        /// Messages handed to ``SensorIngest/handle(topic:payload:format:)``.
        public var received = 0
        /// Readings committed to the database.
        public var stored = 0
        /// Uplinks dropped as copies of one already taken.
        public var duplicates = 0
        /// Messages written to the dead-letter table (malformed, undecodable, oversized).
        public var deadLettered = 0
        /// Uplinks from devices nobody claimed (kept in the discovered list).
        public var unknownDevice = 0
        /// Messages over ``SensorIngest/maxPayloadBytes`` (also counted in `deadLettered`).
        public var oversized = 0
        /// Decoder warnings, e.g. an unknown channel where decoding stopped early.
        public var decodeWarnings = 0
        /// Flushes that failed; their batch is kept and retried.
        public var storeErrors = 0
        /// Readings dropped because the database stayed unwritable while the buffer filled.
        public var dropped = 0

        public init() {}
    }
}
