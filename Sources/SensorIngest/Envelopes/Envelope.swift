import FleetJSON

/// How a gateway wraps what its sensors send; the name is what `[[ingest.subscriptions]]` and
/// registered gateways use.
public enum EnvelopeFormat: String, CaseIterable, Sendable {
    /// Milesight UG65/UG67/UG56 embedded network server, raw payload forwarding.
    case milesightGateway = "milesight-gateway"
    /// ChirpStack v4 MQTT integration, JSON encoding (`application/+/device/+/event/up`).
    case chirpstackV4 = "chirpstack-v4"
    /// The Things Stack v3 MQTT integration (`v3/+/devices/+/up`).
    case ttsV3 = "tts-v3"
    /// Pressac EnOcean gateway JSON, either firmware style, optionally in Azure's `d2cMessage`.
    case pressac
    /// Irisys Vector 4D counts and status topics.
    case irisys
}

/// What an envelope needs to know about the gateway that sent it.
public struct EnvelopeOptions: Sendable, Equatable {
    /// The zone of timestamps written without an offset (Pressac gateways); nil reads them as
    /// unknown and falls back to a UTC time in the message or the receive time.
    public var localTimeZone: LocalTimeZone?

    public init(localTimeZone: LocalTimeZone? = nil) {
        self.localTimeZone = localTimeZone
    }
}

/// What one envelope carried, before a claimed sensor's model is applied.
public enum IngestMessage: Sendable {
    /// A LoRaWAN uplink, decoded later with the claimed sensor's model.
    case lorawan(Uplink)
    /// A message the gateway already split into values (Pressac gateway JSON, Irisys counts).
    case reading(DeviceMessage)
    /// Device presence: Irisys status, heartbeats.
    case presence(device: String, online: Bool, at: Double?)
}

/// Values a gateway reported for one device, in the vendor's field names plus our measurements.
public struct DeviceMessage: Sendable, Equatable {
    /// The device's id as the gateway names it (Pressac sensor id, Irisys serial).
    public var device: String
    public var vendor: String
    public var model: String?
    public var fields: JSONObject
    public var measurements: [Measurement]
    /// Device or gateway time, Unix seconds; nil means receive time.
    public var measuredAt: Double?
    /// Identifies a repeat of the same report (retained message, second gateway). Empty when
    /// the message carries nothing that tells a repeat from a new report (a Pressac message
    /// without any time): such a message is never a duplicate.
    public var dedupeKey: String

    /// What was guessed or skipped, e.g. an unreadable timestamp replaced by the receive time.
    public var warnings: [String]

    public init(device: String, vendor: String, model: String? = nil, fields: JSONObject,
                measurements: [Measurement], measuredAt: Double?, dedupeKey: String, warnings: [String] = []) {
        self.device = device
        self.vendor = vendor
        self.model = model
        self.fields = fields
        self.measurements = measurements
        self.measuredAt = measuredAt
        self.dedupeKey = dedupeKey
        self.warnings = warnings
    }
}

/// Envelope parsing, pure: bytes from a gateway topic → messages. Errors name the field.
public enum Envelope {
    /// The messages in one payload from a gateway topic; an empty array for a message that
    /// carries nothing to store (a ChirpStack `join` event, a TTS `down/sent`).
    ///
    /// - Throws: ``DecodeError`` naming the format and the field at fault.
    public static func parse(
        _ format: EnvelopeFormat, topic: String, payload: [UInt8], options: EnvelopeOptions = EnvelopeOptions()
    ) throws(DecodeError) -> [IngestMessage] {
        switch format {
        case .milesightGateway: return [.lorawan(try MilesightGatewayEnvelope.parse(payload))]
        case .chirpstackV4: return try ChirpStackEnvelope.parse(topic: topic, payload).map { [.lorawan($0)] } ?? []
        case .ttsV3: return try TTSEnvelope.parse(topic: topic, payload).map { [.lorawan($0)] } ?? []
        case .pressac:
            return try PressacGatewayEnvelope.parse(payload, timeZone: options.localTimeZone).map { .reading($0) }
        case .irisys: return try IrisysEnvelope.parse(topic: topic, payload)
        }
    }
}
