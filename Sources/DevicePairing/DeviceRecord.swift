/// A device the controller answers: pre-provisioned from config, or paired by code with its own
/// broker account. The resource is the slot (a room, a door); devices come and go in it.
public struct DeviceRecord: Sendable, Equatable {
    public var id: String
    /// room_display | kiosk | checkin_panel | people_counter | eink_display
    public var kind: String
    /// The slot it serves, e.g. "hq/lobby". Policy (minimum role, actions) hangs off the resource.
    public var resource: String
    public var name: String?
    public var minimumRole: String?
    public var actions: [String]?
    /// "config" for pre-provisioned devices, "paired" for devices with their own broker account,
    /// "api" for devices provisioned through the API.
    public var origin: String
    public var createdAt: Double
    public var lastSeen: Double?
    public var model: String?
    public var firmware: String?
    public var fingerprint: String?
    public var pairedAt: Double?
    public var disabled: Bool
    /// From the device's retained presence message (its Last Will says "offline"); memory only.
    public var online: Bool?

    public init(id: String, kind: String, resource: String, name: String? = nil, minimumRole: String? = nil,
                actions: [String]? = nil, origin: String = "config", createdAt: Double = 0, lastSeen: Double? = nil,
                model: String? = nil, firmware: String? = nil, fingerprint: String? = nil, pairedAt: Double? = nil,
                disabled: Bool = false) {
        self.id = id
        self.kind = kind
        self.resource = resource
        self.name = name
        self.minimumRole = minimumRole
        self.actions = actions
        self.origin = origin
        self.createdAt = createdAt
        self.lastSeen = lastSeen
        self.model = model
        self.firmware = firmware
        self.fingerprint = fingerprint
        self.pairedAt = pairedAt
        self.disabled = disabled
    }

    /// Whether the device has (or should have) its own broker account.
    public var hasAccount: Bool { origin == "paired" }
}

/// A sensor gateway with its own broker account, publishing under `<prefix>/ingest/<name>/`.
public struct GatewayRecord: Sendable, Equatable {
    public var name: String
    /// The envelope format of what it publishes (milesight-gateway, chirpstack-v4, …).
    public var format: String
    /// The zone the gateway's naive local timestamps are in (Pressac: `Europe/London`, `+01:00`);
    /// nil when its messages carry UTC or no time.
    public var timeZone: String?
    public var createdAt: Double

    public init(name: String, format: String, timeZone: String? = nil, createdAt: Double) {
        self.name = name
        self.format = format
        self.timeZone = timeZone
        self.createdAt = createdAt
    }
}
