import FleetJSON

/// Milesight LoRaWAN payloads: a flat run of `channel_id (1 B) | channel_type (1 B) | data`, where
/// the pair fixes the data's length and meaning for a model (sensors.md §1.1).
///
/// A model is data: a list of `MilesightChannel`s. The walker below reads them all, so adding a
/// model means adding a table in a `Milesight+*.swift` file and listing it in `Milesight.models`.
///
/// Behaviour on input the table does not cover, chosen to keep what is trustworthy:
/// - An unknown `(channel, type)` pair stops the walk, like the vendor decoder's silent `break`,
///   but keeps the fields so far and adds a warning. The vendor throws on unknown `0xFF`/`0xFE`
///   types (downlink echoes); here they are warnings too, so an echo never loses an uplink.
/// - A known pair whose data runs past the end of the payload throws `.truncated` with the
///   offset of the channel header. The vendor decoder would compute values from bytes that are
///   not there (JavaScript's `undefined`); LoRaWAN's MIC makes a short frame impossible on air,
///   so a short payload means a wrong model or a broken gateway, and the raw bytes belong in the
///   dead-letter table where they can be replayed.
public enum Milesight {
    public static let vendor = "milesight"
    /// Milesight devices send and listen on this port unless reconfigured.
    public static let defaultFPort = 85

    /// Every Milesight model this build decodes.
    static let models: [MilesightModel] = [am307, am308, am319HCHO, am319O3]
}

/// How one value's bytes are read and shown.
struct MilesightValue: Sendable {
    enum Encoding: Sendable {
        case u8, i8, u16, i16, u32, i32
        /// Bytes shown as lowercase hex (serial numbers).
        case hex(Int)
        /// One byte, high nibble major: `0x01` → `v0.1`.
        case ipsoVersion
        /// Two bytes, major and the high nibble of the second: `01 10` → `v1.1`.
        case hardwareVersion
        /// Two bytes, major and minor in hex: `01 10` → `v1.10`.
        case firmwareVersion
        /// Bytes in the layout that carry nothing; skipped and not shown.
        case reserved(Int)

        var width: Int {
            switch self {
            case .u8, .i8, .ipsoVersion: 1
            case .u16, .i16, .hardwareVersion, .firmwareVersion: 2
            case .u32, .i32: 4
            case .hex(let count), .reserved(let count): count
            }
        }
    }

    var name: String
    var encoding: Encoding
    /// Shown value = raw / divisor (temperature int16/10 → divisor 10).
    var divisor: Double = 1
    /// Enum strings by raw value; a raw value not listed shows as `unknown`, as the vendor does.
    var labels: [Int: String]? = nil
    /// The normalized reading this value becomes, if any; a labelled value yields its raw number.
    var kind: ReadingKind? = nil
    var unit: String = ""
    /// The record's own Unix time (history records).
    var isTimestamp = false
}

/// One `(channel_id, channel_type)` entry of a model's table.
struct MilesightChannel: Sendable {
    enum Layout: Sendable {
        /// Values become top-level fields; a repeated channel overwrites them.
        case flat
        /// Values form one record appended to the `history` array; the record's timestamp value
        /// dates its measurements.
        case history
    }

    var id: UInt8
    var type: UInt8
    var layout: Layout = .flat
    var values: [MilesightValue]

    /// Data bytes after the two header bytes.
    var length: Int { values.reduce(0) { $0 + $1.encoding.width } }
}

/// One Milesight model's decoder, built from its channel table.
struct MilesightModel: SensorDecoder {
    let vendor = Milesight.vendor
    let model: String
    let aliases: [String]
    private let channels: [UInt16: MilesightChannel]

    /// - Parameter channels: the table; a later entry for the same pair replaces an earlier one,
    ///   so a model can start from a shared table and override single entries.
    init(_ model: String, aliases: [String] = [], channels: [MilesightChannel]) {
        self.model = model
        self.aliases = aliases
        var table: [UInt16: MilesightChannel] = [:]
        for channel in channels { table[Self.key(channel.id, channel.type)] = channel }
        self.channels = table
    }

    /// The pairs this model decodes, for tests and `--help`-style listings.
    var channelPairs: [(id: UInt8, type: UInt8)] {
        channels.values.map { ($0.id, $0.type) }.sorted { ($0.id, $0.type) < ($1.id, $1.type) }
    }

    func decode(fPort: Int, payload: [UInt8]) throws(DecodeError) -> DecodedUplink {
        var result = DecodedUplink()
        var history: [JSON] = []
        if fPort != Milesight.defaultFPort {
            result.warnings.append("fPort \(fPort) is not Milesight's application port \(Milesight.defaultFPort)")
        }
        var reader = ByteReader(payload)
        while !reader.isAtEnd {
            let start = reader.offset
            guard reader.remaining >= 2 else {
                throw error(.truncated, at: start, "a channel header needs 2 bytes, 1 left")
            }
            let id = try reader.u8()
            let type = try reader.u8()
            guard let channel = channels[Self.key(id, type)] else {
                result.warnings.append(
                    "unknown channel \(hex(id)) type \(hex(type)) at byte \(start); "
                        + "stopped with \(payload.count - start) bytes undecoded")
                break
            }
            guard reader.remaining >= channel.length else {
                throw error(
                    .truncated, at: start,
                    "channel \(hex(id)) type \(hex(type)) needs \(channel.length) bytes, \(reader.remaining) left")
            }
            var record = JSONObject()
            var samples: [Measurement] = []
            var recordTime: Double?
            for value in channel.values {
                guard let (shown, number) = try read(value, from: &reader) else { continue }
                if value.isTimestamp { recordTime = number }
                switch channel.layout {
                case .flat: result.fields[value.name] = shown
                case .history: record[value.name] = shown
                }
                if let kind = value.kind, let number {
                    samples.append(Measurement(kind: kind, value: number, unit: value.unit))
                }
            }
            if channel.layout == .history {
                history.append(.object(record))
                for index in samples.indices { samples[index].timestamp = recordTime }
            }
            result.measurements += samples
        }
        if !history.isEmpty { result.fields["history"] = .array(history) }
        return result
    }

    /// Reads one value: what the vendor decoder shows, and the number behind it (nil for text).
    /// Returns nil for reserved bytes.
    private func read(
        _ value: MilesightValue, from reader: inout ByteReader
    ) throws(DecodeError) -> (JSON, Double?)? {
        let raw: Int
        switch value.encoding {
        case .u8: raw = Int(try reader.u8())
        case .i8: raw = Int(try reader.i8())
        case .u16: raw = Int(try reader.u16())
        case .i16: raw = Int(try reader.i16())
        case .u32: raw = Int(try reader.u32())
        case .i32: raw = Int(try reader.i32())
        case .hex(let count):
            return (.string(try reader.bytes(count).map(hexDigits).joined()), nil)
        case .ipsoVersion:
            let byte = try reader.u8()
            return (.string("v\(byte >> 4).\(byte & 0x0F)"), nil)
        case .hardwareVersion:
            let (major, minor) = (try reader.u8(), try reader.u8())
            return (.string("v\(String(major, radix: 16)).\(minor >> 4)"), nil)
        case .firmwareVersion:
            let (major, minor) = (try reader.u8(), try reader.u8())
            return (.string("v\(String(major, radix: 16)).\(String(minor, radix: 16))"), nil)
        case .reserved(let count):
            try reader.skip(count)
            return nil
        }
        if let labels = value.labels {
            return (.string(labels[raw] ?? "unknown"), Double(raw))
        }
        let number = Double(raw) / value.divisor
        return (.number(number), number)
    }

    private func error(_ code: DecodeError.Code, at offset: Int, _ reason: String) -> DecodeError {
        DecodeError(code, vendor: vendor, model: model, offset: offset, reason: reason)
    }

    private static func key(_ id: UInt8, _ type: UInt8) -> UInt16 { UInt16(id) << 8 | UInt16(type) }
}

private func hexDigits(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16)
    return byte < 0x10 ? "0" + digits : digits
}

private func hex(_ byte: UInt8) -> String { "0x" + hexDigits(byte).uppercased() }

/// The "basic information" frames most Milesight devices send after joining (sensors.md §1.1,
/// and the Attribute table of each model's README): `FF xx` pairs, shared by the AM, EM and VS
/// families except where a model's README says otherwise (VS121/WS301 use `FF 08` with a 6-byte SN).
extension Milesight {
    static let attributeChannels: [MilesightChannel] = [
        MilesightChannel(id: 0xFF, type: 0x01, values: [.init(name: "ipso_version", encoding: .ipsoVersion)]),
        MilesightChannel(id: 0xFF, type: 0x09, values: [.init(name: "hardware_version", encoding: .hardwareVersion)]),
        MilesightChannel(id: 0xFF, type: 0x0A, values: [.init(name: "firmware_version", encoding: .firmwareVersion)]),
        // The README gives no example for the TSL version; shown like the firmware version.
        MilesightChannel(id: 0xFF, type: 0xFF, values: [.init(name: "tsl_version", encoding: .firmwareVersion)]),
        MilesightChannel(id: 0xFF, type: 0x16, values: [.init(name: "sn", encoding: .hex(8))]),
        MilesightChannel(
            id: 0xFF, type: 0x0F,
            values: [.init(name: "lorawan_class", encoding: .u8, labels: lorawanClasses)]),
        // Devices send `FF FE FF`; the HEAD AM decoders throw on it although the README lists it.
        MilesightChannel(
            id: 0xFF, type: 0xFE,
            values: [.init(name: "reset_event", encoding: .u8, labels: [1: "reset", 0xFF: "reset"])]),
        // Devices send `FF 0B FF` at power-on. The VS34x/EM500 decoders show it as "on"; the HEAD
        // AM decoders map only 0/1 and show "unknown". "on" is what the frame means.
        MilesightChannel(
            id: 0xFF, type: 0x0B,
            values: [.init(name: "device_status", encoding: .u8, labels: [0: "off", 1: "on", 0xFF: "on"])]),
    ]

    static let lorawanClasses: [Int: String] = [0: "Class A", 1: "Class B", 2: "Class C", 3: "Class CtoB"]
}
