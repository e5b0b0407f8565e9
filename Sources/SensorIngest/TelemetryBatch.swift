/// Identifies one LoRaWAN uplink across gateways and retries: a copy heard by a second gateway,
/// or re-published by a gateway after an outage, has the same DevEUI, frame counter and bytes.
public struct UplinkKey: Hashable, Sendable {
    public var devEUI: String
    public var fCnt: Int
    /// 64-bit FNV-1a of the payload, stored as its bit pattern. Not cryptographic: a sender who
    /// could forge a collision could as well publish anything else with its credentials.
    public var payloadHash: Int64

    public init(devEUI: String, fCnt: Int, payload: [UInt8]) {
        self.devEUI = devEUI
        self.fCnt = fCnt
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in payload {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        self.payloadHash = Int64(bitPattern: hash)
    }

    /// A key as stored (the duplicate filter's log).
    public init(devEUI: String, fCnt: Int, payloadHash: Int64) {
        self.devEUI = devEUI
        self.fCnt = fCnt
        self.payloadHash = payloadHash
    }

    /// A report a gateway decoded itself, keyed by what identifies its repeats (Irisys: register
    /// and time; Pressac: time and values). Frame counter -1 keeps it apart from LoRaWAN keys.
    public init(device: String, dedupeKey: String) {
        self.init(devEUI: device, fCnt: -1, payload: Array(dedupeKey.utf8))
    }
}

/// The newest LoRaWAN keys taken per device, in memory: copies from other gateways and retries
/// arrive within seconds, so they are found here without touching the database. Fixed size per
/// device, so a flood does not grow it.
struct RecentUplinks {
    static let perDevice = 16

    private struct Ring {
        var keys: [(fCnt: Int, hash: Int64, at: Double)] = []
        var next = 0
    }

    private var rings: [String: Ring] = [:]
    let maxDevices: Int

    init(maxDevices: Int) { self.maxDevices = maxDevices }

    /// Whether `key` was taken at or after `since`.
    func contains(_ key: UplinkKey, since: Double) -> Bool {
        guard let ring = rings[key.devEUI] else { return false }
        return ring.keys.contains { $0.fCnt == key.fCnt && $0.hash == key.payloadHash && $0.at >= since }
    }

    mutating func insert(_ key: UplinkKey, at time: Double) {
        if rings.count >= maxDevices && rings[key.devEUI] == nil { rings.removeAll() }
        // One lookup, changed in place through the default subscript's accessor.
        Self.push((key.fCnt, key.payloadHash, time), into: &rings[key.devEUI, default: Ring()])
    }

    private static func push(_ entry: (fCnt: Int, hash: Int64, at: Double), into ring: inout Ring) {
        if ring.keys.count < perDevice {
            ring.keys.append(entry)
        } else {
            ring.keys[ring.next] = entry
        }
        ring.next = (ring.next + 1) % perDevice
    }
}

/// A message that could not be used, with why.
public struct DeadLetter: Equatable, Sendable {
    public var receivedAt: Double
    public var topic: String
    /// The DevEUI when the envelope got that far, else `""`.
    public var device: String
    public var reason: String
    public var payload: [UInt8]

    public init(receivedAt: Double, topic: String, device: String, reason: String, payload: [UInt8]) {
        self.receivedAt = receivedAt
        self.topic = topic
        self.device = device
        self.reason = reason
        self.payload = payload
    }
}

/// A device heard but not claimed; `count` uplinks between `firstSeen` and `lastSeen`.
public struct DiscoveredDevice: Equatable, Sendable {
    public var devEUI: String
    public var firstSeen: Double
    public var lastSeen: Double
    public var count: Int
    public var lastPayload: [UInt8]
    public var lastTopic: String
    /// The network server's name for it, often its model (`EM300-TH`): a hint for the installer.
    public var deviceName: String?
    /// The vendor when the envelope says (gateway JSON); nil for LoRaWAN uplinks.
    public var vendor: String?

    public init(
        devEUI: String, firstSeen: Double, lastSeen: Double, count: Int, lastPayload: [UInt8], lastTopic: String,
        deviceName: String?, vendor: String? = nil
    ) {
        self.vendor = vendor
        self.devEUI = devEUI
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.count = count
        self.lastPayload = lastPayload
        self.lastTopic = lastTopic
        self.deviceName = deviceName
    }
}

/// Everything one flush writes, committed in one transaction by ``TelemetryStore/commit(_:)``.
public struct TelemetryBatch: Sendable {
    public struct Seen: Hashable, Sendable {
        public var key: UplinkKey
        public var at: Double

        public init(key: UplinkKey, at: Double) {
            self.key = key
            self.at = at
        }
    }

    /// A device's online state at a time (Irisys status, Last Will, heartbeats).
    public struct Presence: Equatable, Sendable {
        public var device: String
        public var online: Bool
        public var at: Double

        public init(device: String, online: Bool, at: Double) {
            self.device = device
            self.online = online
            self.at = at
        }
    }

    public var readings: [Reading]
    public var seen: [Seen]
    public var deadLetters: [DeadLetter]
    /// One entry per device: counts of the same device within a batch are added up first.
    public var discovered: [DiscoveredDevice]
    public var presence: [Presence]
    /// The latest people count per resource that changed in this batch.
    public var occupancy: [OccupancyTracker.Day]
    /// How many of `readings` the occupancy tracker has seen (a failed commit is retried whole).
    var occupancyApplied = 0
    /// How many of `readings` are already merged into the rollup deltas.
    var rollupsApplied = 0
    /// Rollup increments to add in this commit (the façade sends them every few seconds).
    public var rollups: RollupDeltas
    /// Write every changed sensor's newest readings to `latest` with this commit, not a slice
    /// (a final flush, so the next start replays nothing).
    var writesAllLatest = false

    public init(
        readings: [Reading] = [], seen: [Seen] = [], deadLetters: [DeadLetter] = [], discovered: [DiscoveredDevice] = [],
        presence: [Presence] = [], occupancy: [OccupancyTracker.Day] = [], rollups: RollupDeltas = RollupDeltas()
    ) {
        self.rollups = rollups
        self.readings = readings
        self.seen = seen
        self.deadLetters = deadLetters
        self.discovered = discovered
        self.presence = presence
        self.occupancy = occupancy
    }

    public var isEmpty: Bool {
        readings.isEmpty && seen.isEmpty && deadLetters.isEmpty && discovered.isEmpty && presence.isEmpty
            && occupancy.isEmpty && rollups.isEmpty
    }
}
