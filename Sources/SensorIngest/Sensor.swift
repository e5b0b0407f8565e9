/// A sensor an installer claimed: which device, how to decode it, and where it is.
public struct Sensor: Equatable, Sendable {
    /// The DevEUI (16 uppercase hex digits once claimed), or for Pressac and Irisys devices the
    /// id their gateway reports.
    public var devEUI: String
    /// Decoder vendor key, e.g. `milesight`.
    public var vendor: String
    /// Decoder model, e.g. `AM307` (any case; aliases allowed).
    public var model: String
    /// Where it is, e.g. `hq/3/3.14`; readings carry it.
    public var resource: String
    /// What a display shows as the room's name (DS3604); nil means the resource's last segment.
    public var name: String?
    /// The VS133 / VS135 counting lines whose in/out feed the resource's people counts, sorted;
    /// nil means line 1 (see ``CountedLines``). Other models refuse a list.
    public var lines: [Int]?

    public init(
        devEUI: String, vendor: String, model: String, resource: String, name: String? = nil, lines: [Int]? = nil
    ) {
        self.devEUI = devEUI
        self.vendor = vendor
        self.model = model
        self.resource = resource
        self.name = name
        self.lines = lines
    }
}

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
        /// Presence reports (online/offline) recorded.
        public var presence = 0
        /// Devices claimed by an open permit window.
        public var permitClaims = 0

        public init() {}
    }
}
