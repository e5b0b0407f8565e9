import FleetJSON

/// What a reading measures. The raw values are the `kind` column, the `<kind>` topic segment and
/// the `kind=` API filter, so they are part of the product's interface: add, never rename.
public enum ReadingKind: String, CaseIterable, Sendable {
    case temperature
    case humidity
    case co2
    case tvoc
    case pressure
    /// A light level on the device's own scale (Milesight AM: 0...5).
    case light
    case pm2_5
    case pm10
    case hcho
    case o3
    /// PIR or seat occupancy: 1 occupied or triggered, 0 idle.
    case occupancy
    /// Battery charge in % (Milesight) or supply voltage in V (Pressac); the unit says which.
    case battery
    case nh3
    case h2s
    /// People present now, as the device counts them (VS121 people_count_all).
    case peopleCount = "people_count"
    /// People who crossed into the counted area during the device's reporting period (a delta).
    case peopleIn = "people_in"
    /// People who crossed out of the counted area during the reporting period (a delta).
    case peopleOut = "people_out"
    /// Door or window contact: 1 open, 0 closed.
    case door
    /// A button event; the value is the device's event code (WS101: 1 short, 2 long, 3 double).
    case button
    /// Water leak: 1 leak, 0 dry.
    case leak
    /// Electrical current through a clamp, A.
    case current
    case power
    /// Sound level, dBA.
    case sound
}

/// The units readings carry. Strings rather than an enum: they are stored and shown as they are.
public enum ReadingUnit {
    public static let celsius = "°C"
    public static let relativeHumidity = "%RH"
    public static let ppm = "ppm"
    public static let hectopascal = "hPa"
    public static let microgramsPerCubicMetre = "µg/m³"
    public static let milligramsPerCubicMetre = "mg/m³"
    public static let percent = "%"
    /// Milesight's tVOC index (the device reports it when set to IAQ rather than µg/m³).
    public static let iaq = "iaq"
    /// A step on a device-defined scale.
    public static let level = "level"
    /// A 0/1 state such as occupancy.
    public static let state = "state"
    public static let lux = "lx"
    public static let ampere = "A"
    public static let watt = "W"
    public static let volt = "V"
    public static let decibelA = "dBA"
    /// A number of people.
    public static let people = "people"
    /// A device-defined event code (button presses).
    public static let event = "event"
}

/// One value a decoder found, before it is tied to a sensor: the vendor-neutral half of a decode.
///
/// Decoders emit these next to the vendor-shaped fields because the fields alone are ambiguous:
/// Milesight's `tvoc` is an IAQ index or µg/m³ depending on the channel type it arrived on.
public struct Measurement: Equatable, Sendable {
    public var kind: ReadingKind
    public var value: Double
    public var unit: String
    /// Device time (Unix seconds) for back-dated samples such as history records; nil means
    /// "when the uplink was received".
    public var timestamp: Double?

    public init(kind: ReadingKind, value: Double, unit: String, timestamp: Double? = nil) {
        self.kind = kind
        self.value = value
        self.unit = unit
        self.timestamp = timestamp
    }
}

/// A normalized reading: one value of one kind from one sensor at one time.
public struct Reading: Equatable, Sendable {
    /// The sensor's DevEUI, 16 uppercase hex digits.
    public var sensor: String
    /// Where the sensor is (`hq/3/3.14`), as claimed.
    public var resource: String
    public var kind: ReadingKind
    public var value: Double
    public var unit: String
    /// When the value was measured, Unix seconds: the device's own time for history records,
    /// otherwise the network's receive time.
    public var timestamp: Double
    /// When this controller received the uplink, Unix seconds.
    public var receivedAt: Double

    public init(
        sensor: String, resource: String, kind: ReadingKind, value: Double, unit: String,
        timestamp: Double, receivedAt: Double
    ) {
        self.sensor = sensor
        self.resource = resource
        self.kind = kind
        self.value = value
        self.unit = unit
        self.timestamp = timestamp
        self.receivedAt = receivedAt
    }

    /// The reading as the API and `decode --normalized` show it.
    public var json: JSON {
        [
            "sensor": .string(sensor), "resource": .string(resource), "kind": .string(kind.rawValue),
            "value": .number(value), "unit": .string(unit), "timestamp": .number(timestamp),
            "received_at": .number(receivedAt),
        ]
    }
}

extension DecodedUplink {
    /// The readings of this uplink for a claimed sensor.
    ///
    /// Samples without their own time get `measuredAt` (the network's receive time when the
    /// envelope has one). Non-finite values are dropped: SQLite would store NaN as NULL.
    public func readings(sensor: String, resource: String, measuredAt: Double, receivedAt: Double) -> [Reading] {
        measurements.compactMap { sample in
            guard sample.value.isFinite else { return nil }
            return Reading(
                sensor: sensor, resource: resource, kind: sample.kind, value: sample.value, unit: sample.unit,
                timestamp: sample.timestamp ?? measuredAt, receivedAt: receivedAt)
        }
    }
}
