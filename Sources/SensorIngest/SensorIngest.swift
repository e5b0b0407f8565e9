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
    /// Rollup rows written per commit once due: every 5 s a flood has up to (sensors × kinds × 2)
    /// deltas; written at once they were a commit of tens of milliseconds, in slices each commit
    /// grows by well under a millisecond.
    static let rollupSlice = 128
    /// Readings kept while the database refuses writes; older ones are dropped beyond this.
    static let maxPendingReadings = 100_000
    /// How often old duplicate-filter entries and dead letters are pruned.
    static let pruneInterval = 600.0
    /// A buffer this full is committed at once: 50 AM307 uplinks, a commit well under a
    /// millisecond, so a door's request that arrives meanwhile waits little (at 125 uplinks per
    /// commit, authorize p99 beside 5,000 uplinks/s was 7–9 ms; at 50, 6.6 ms at the same ingest
    /// rate, BENCHMARKS.md).
    static let batchReadings = 400
    /// A buffer this old is committed at once.
    static let batchAge: Duration = .milliseconds(50)
    /// How often rollup deltas are written; at most this much rollup work is lost in a crash
    /// (the raw readings are not).
    static let rollupInterval: Duration = .seconds(5)
    /// Devices whose highest frame counter is kept in memory; beyond it the map starts over.
    static let maxTrackedDevices = 100_000
    /// Dead letters kept with their bytes (per-device counts are kept regardless).
    static let deadLettersKept = 10_000

    /// What has happened since start; never reset.
    public internal(set) var counters = Counters()
    /// Called after each successful flush with the readings it stored (derived ones included),
    /// for the MQTT export.
    public var onCommitted: (([Reading]) -> Void)?
    /// Called after a flush when a resource's people count or occupied state changed.
    public var onOccupancyChanged: ((_ resource: String, _ state: OccupancyTracker.State) -> Void)?

    let store: TelemetryStore
    let clock: any Clock
    let logger: Logger
    let registry: DecoderRegistry
    let dedupeWindow: Double
    var claimedSensors: [String: ClaimedSensor] = [:] {
        didSet { claimsVersion &+= 1 }
    }
    /// Changes whenever a claim is added, changed or removed, so callers can cache views of them.
    public private(set) var claimsVersion = 0
    /// Devices claimed in the config file: the API may not delete them.
    var configClaims: Set<String> = []
    var permit: PermitWindow?
    /// Last running people totals; read from the store on first use (see ``CounterTotals``).
    var counterTotals: CounterTotals?
    var occupancy: OccupancyTracker
    var occupancyShown: [String: OccupancyTracker.State] = [:]
    /// Resources whose counters or PIR changed since the last announcement.
    var occupancyTouched: Set<String> = []
    var pending = TelemetryBatch()
    /// Keys in the batch not yet committed (so not yet findable in the store).
    var pendingSeen: Set<UplinkKey> = []
    /// Each device's newest LoRaWAN keys: copies and retries are found here. Keys go to the store
    /// with the readings of the same commit (appended to `seen_log`), so a stored reading's key is
    /// never lost in a crash.
    var recentUplinks = RecentUplinks(maxDevices: SensorIngest.maxTrackedDevices)
    /// Rollup deltas due for writing, a slice per commit (see ``rollupSlice``).
    var rollupBacklog = RollupDeltas()
    var pendingSince: Instant?
    /// Rollup increments of stored readings not yet written (see ``flushIfDue()``).
    var rollupDeltas = RollupDeltas()
    var lastRollupWrite: Instant
    /// The highest frame counter taken per DevEUI (seeded from the duplicate filter at start).
    var highestFCnt: [String: Int] = [:]
    var pendingDiscovered: [String: Int] = [:]
    var logged: Set<String> = []
    var lastPrune: Double?
    var storeFailing = false
    /// When the last batch was committed.
    var lastCommit: Instant?
    /// WAL checkpoints run so far, and the WAL's size in frames at the last one.
    public internal(set) var checkpoints = (count: 0, lastLogFrames: 0)
    /// A WAL this large is checkpointed even while writes go on (2 MB: a few times a second in a
    /// 40k uplinks/s flood). A checkpoint syncs the WAL, copies it into the database file and syncs
    /// that: about 2 ms per MB here, all on the loop, since SQLite has no incremental checkpoint.
    /// The WAL's pages are already on their way to the disk when it starts (the store starts their
    /// writeback as commits add them), so the cost is the copy and the file's sync, and small
    /// steps keep each one short (8 MB steps held the loop 10–16 ms and made the loop-lag p99 of
    /// a 1M flood swing between 2 and 12 ms).
    var checkpointFrames = 512
    /// A pause in writes this long lets whatever the WAL holds be copied back.
    static let checkpointQuiet: Duration = .milliseconds(500)

    /// - Parameters:
    ///   - dedupeWindow: seconds an uplink's (DevEUI, fCnt, payload) stays known. Copies arrive
    ///     within seconds, gateway replays after an outage within hours; a device that rejoins
    ///     restarts its counter, so the window must not be endless.
    ///   - dayOf: the local calendar day (`yyyymmdd`) of a Unix time, where people counts restart.
    public init(
        store: TelemetryStore, clock: any Clock, logger: Logger, registry: DecoderRegistry = .standard,
        dedupeWindow: Double = 6 * 3600, dayOf: @escaping (Double) -> Int = OccupancyTracker.localDay
    ) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.registry = registry
        self.dedupeWindow = dedupeWindow
        lastRollupWrite = clock.now
        occupancy = OccupancyTracker(dayOf: dayOf)
        do {
            highestFCnt = try store.highestFrameCounters(since: clock.unixTime - dedupeWindow)
            for seen in try store.recentKeys(since: clock.unixTime - dedupeWindow, limit: 200_000) {
                recentUplinks.insert(seen.key, at: seen.at)
            }
            occupancy.restore(try store.occupancyDays())
        } catch {
            logger.warning("cannot read stored people counts; they start at zero", metadata: ["error": "\(error)"])
        }
    }

    /// Readings waiting for the next ``flush()``.
    public var pendingReadings: Int { pending.readings.count }

    // MARK: - Messages

    /// Takes one message from a sensor gateway. Never throws; see the type's documentation.
    public func handle(topic: String, payload: [UInt8], format: EnvelopeFormat, options: EnvelopeOptions = EnvelopeOptions()) {
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
            messages = try Envelope.parse(format, topic: topic, payload: payload, options: options)
        } catch {
            reject(
                topic: topic, device: "", cause: error.code.name, reason: error.description, payload: payload, at: now)
            return
        }
        take(messages, topic: topic, payload: payload, at: now)
    }

    /// The messages of one envelope; internal so tests can feed formats that are not wired yet.
    func take(_ messages: [IngestMessage], topic: String, payload: [UInt8], at now: Double) {
        for message in messages {
            switch message {
            case .lorawan(let uplink): handle(uplink, topic: topic, payload: payload, at: now)
            case .reading(let report): handle(report, topic: topic, payload: payload, at: now)
            case .presence(let device, let online, let at):
                counters.presence += 1
                pending.presence.append(.init(device: device, online: online, at: at ?? now))
            }
        }
    }

    private func handle(_ uplink: Uplink, topic: String, payload: [UInt8], at now: Double) {
        if let fCnt = uplink.fCnt {
            // Past the highest counter taken from this device, an uplink cannot be a copy: the
            // database lookup is needed only for counters at or below it (copies, replays, rejoins).
            let fresh = highestFCnt[uplink.devEUI].map { fCnt > $0 } ?? false
            let key = UplinkKey(devEUI: uplink.devEUI, fCnt: fCnt, payload: uplink.payload)
            if isDuplicate(key, now: now, knownFresh: fresh) { return }
            if highestFCnt.count >= Self.maxTrackedDevices { highestFCnt.removeAll() }
            highestFCnt[uplink.devEUI] = max(fCnt, highestFCnt[uplink.devEUI] ?? fCnt)
        }
        guard let claimed = claimedSensors[uplink.devEUI] ?? claimByPermit(uplink, at: now) else {
            counters.unknownDevice += 1
            discovered(
                device: uplink.devEUI, vendor: nil, hint: uplink.deviceName, topic: topic, payload: uplink.payload, at: now)
            return
        }
        guard let decoder = claimed.decoder else {
            reject(
                topic: topic, device: uplink.devEUI, cause: "no-decoder",
                reason: "no LoRaWAN decoder for \(claimed.sensor.vendor) \(claimed.sensor.model); claim it with a model "
                    + "`fleet-controller decode` knows", payload: payload, at: now)
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
        let sensor = claimed.sensor
        pending.readings += countingTotals(
            decoded, sensor: sensor.devEUI, model: decoder.model, lines: sensor.lines, at: uplink.receivedAt ?? now)
            .readings(
            sensor: sensor.devEUI, resource: sensor.resource, measuredAt: uplink.receivedAt ?? now, receivedAt: now)
    }

    /// A report a gateway decoded itself (Pressac JSON, Irisys counts): deduplicated by its key,
    /// then stored under the claim's resource.
    private func handle(_ report: DeviceMessage, topic: String, payload: [UInt8], at now: Double) {
        // An empty key means the report carries nothing (no time) to tell a repeat from a new one:
        // never treat it as a duplicate.
        if !report.dedupeKey.isEmpty, isDuplicate(UplinkKey(device: report.device, dedupeKey: report.dedupeKey), now: now) {
            return
        }
        guard let claimed = claimedSensors[report.device] ?? claimByPermit(report, at: now) else {
            counters.unknownDevice += 1
            discovered(device: report.device, vendor: report.vendor, hint: report.model, topic: topic, payload: payload, at: now)
            return
        }
        let measuredAt = report.measuredAt ?? now
        for sample in report.measurements where sample.value.isFinite {
            pending.readings.append(Reading(
                sensor: report.device, resource: claimed.sensor.resource, kind: sample.kind, value: sample.value,
                unit: sample.unit, timestamp: sample.timestamp ?? measuredAt, receivedAt: now))
        }
    }

    // MARK: - Helpers

    /// Whether `key` was taken already; if not, it is taken now (counted when it was).
    private func isDuplicate(_ key: UplinkKey, now: Double, knownFresh: Bool = false) -> Bool {
        var known = !knownFresh && (pendingSeen.contains(key) || recentUplinks.contains(key, since: now - dedupeWindow))
        if !known && !knownFresh {
            do {
                known = try store.isDuplicate(key, since: now - dedupeWindow)
            } catch {
                // Storing a copy twice beats losing an uplink.
                logOnce(key: "store|isDuplicate", level: .warning, "duplicate check failed: \(error)", metadata: [:])
            }
        }
        if known {
            counters.duplicates += 1
            return true
        }
        pending.seen.append(.init(key: key, at: now))
        // LoRaWAN keys are found in the ring from now on; the others once committed.
        if key.fCnt >= 0 { recentUplinks.insert(key, at: now) } else { pendingSeen.insert(key) }
        return false
    }

    private func discovered(
        device: String, vendor: String?, hint: String?, topic: String, payload: [UInt8], at now: Double
    ) {
        if let index = pendingDiscovered[device] {
            pending.discovered[index].count += 1
            pending.discovered[index].lastSeen = now
            pending.discovered[index].lastPayload = payload
            pending.discovered[index].lastTopic = topic
            pending.discovered[index].deviceName = hint ?? pending.discovered[index].deviceName
        } else {
            pendingDiscovered[device] = pending.discovered.count
            pending.discovered.append(
                DiscoveredDevice(
                    devEUI: device, firstSeen: now, lastSeen: now, count: 1, lastPayload: payload, lastTopic: topic,
                    deviceName: hint, vendor: vendor))
        }
        logOnce(
            key: device + "|unknown", level: .info, "message from an unclaimed device",
            metadata: ["device": "\(device)", "name": "\(hint ?? "")", "topic": "\(topic)"])
    }

    /// A message that reached ingest on a topic nothing is registered for (an unknown gateway):
    /// kept as a dead letter with `reason`, counted, logged once per cause.
    public func rejectUnroutable(topic: String, payload: [UInt8], cause: String, reason: String) {
        counters.received += 1
        reject(topic: topic, device: "", cause: cause, reason: reason,
               payload: Array(payload.prefix(Self.oversizedKeptBytes)), at: clock.unixTime)
    }

    func reject(
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
    func logOnce(key: String, level: Logger.Level, _ message: String, metadata: Logger.Metadata) {
        guard !logged.contains(key) else { return }
        // Bounded so that a flood of distinct devices cannot grow it without limit; past the
        // bound faults are simply logged again.
        if logged.count >= 10_000 { logged.removeAll() }
        logged.insert(key)
        logger.log(level: level, "\(message)", metadata: metadata)
    }
}

@available(*, unavailable) extension SensorIngest: Sendable {}
