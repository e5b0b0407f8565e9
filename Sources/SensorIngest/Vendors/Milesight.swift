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
    static let models: [MilesightModel] = [
        am307, am308, am319HCHO, am319O3,
        am102, am103, am107,
        vs121, vs132, vs133, vs135, vs330, vs340, vs341, vs350, vs351,
        ws101, ws202, ws203, ws301, ws303,
        em300TH, em320TH, em500CO2, gs301,
        ds3604,
    ]
}

/// How one value's bytes are read and shown.
struct MilesightValue: Sendable {
    enum Encoding: Sendable {
        case u8, i8, u16, i16, u32, i32
        /// Big-endian uint16 (the VS121 region mask is the one big-endian field).
        case u16BE
        /// Bytes shown as lowercase hex (serial numbers).
        case hex(Int)
        /// One byte, high nibble major: `0x01` → `v0.1`.
        case ipsoVersion
        /// Two bytes, major and the high nibble of the second: `01 10` → `v1.1`.
        case hardwareVersion
        /// Two bytes, major and minor in hex: `01 10` → `v1.10`.
        case firmwareVersion
        /// Bytes as decimal numbers joined by dots, no `v`: the VS people counters'
        /// `01 00` → `1.0`, `1F 07 00 4B` → `31.7.0.75`.
        case dotted(Int)
        /// Bytes in the layout that carry nothing; skipped and not shown.
        case reserved(Int)

        var width: Int {
            switch self {
            case .u8, .i8, .ipsoVersion: 1
            case .u16, .i16, .u16BE, .hardwareVersion, .firmwareVersion: 2
            case .u32, .i32: 4
            case .hex(let count), .reserved(let count), .dotted(let count): count
            }
        }
    }

    var name: String
    var encoding: Encoding
    /// Shown value = raw / divisor (temperature int16/10 → divisor 10).
    var divisor: Double = 1
    /// Enum strings by raw value; a raw value not listed shows as `unknown`, as the vendor does.
    var labels: [Int: String]? = nil
    /// Raw values that are not measurements (GS301 `0xFFFE` polarizing): shown as the string,
    /// never turned into a reading.
    var sentinels: [Int: String] = [:]
    /// The normalized reading this value becomes, if any; a labelled value yields its raw number.
    var kind: ReadingKind? = nil
    var unit: String = ""
    /// The record's own Unix time (history records).
    var isTimestamp = false

    /// The same value under another field name (VS133 `line_2_total_in` from `line_1_total_in`).
    func named(_ name: String) -> MilesightValue {
        var copy = self
        copy.name = name
        return copy
    }

    /// The same value without a normalized reading.
    var fieldOnly: MilesightValue {
        var copy = self
        copy.kind = nil
        return copy
    }

    /// Reads the value: what the vendor decoder shows, and the number behind it (nil for text
    /// and sentinels). Nil for reserved bytes.
    func read(from reader: inout ByteReader) throws(DecodeError) -> (shown: JSON, number: Double?)? {
        let raw: Int
        switch encoding {
        case .u8: raw = Int(try reader.u8())
        case .i8: raw = Int(try reader.i8())
        case .u16: raw = Int(try reader.u16())
        case .u16BE: raw = Int(try reader.u16(.big))
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
        case .dotted(let count):
            return (.string(try reader.bytes(count).map { String($0) }.joined(separator: ".")), nil)
        case .reserved(let count):
            try reader.skip(count)
            return nil
        }
        if let sentinel = sentinels[raw] { return (.string(sentinel), nil) }
        if let labels {
            return (.string(labels[raw] ?? "unknown"), Double(raw))
        }
        let number = Double(raw) / divisor
        return (.number(number), number)
    }
}

/// A channel whose data is not a fixed run of values: it reads its own bytes and writes to the
/// output. Throws only through the byte reader (truncation).
typealias MilesightChannelReader =
    @Sendable (inout ByteReader, inout MilesightOutput) throws(DecodeError) -> Void

/// One `(channel_id, channel_type)` entry of a model's table.
struct MilesightChannel: Sendable {
    enum Layout: Sendable {
        /// Values become top-level fields; a repeated channel overwrites them.
        case flat
        /// Values form one record appended to the `history` array; the record's timestamp value
        /// dates its measurements.
        case history
        /// Values become fields of the object under this key (WS101 `button_event.status`).
        case nested(String)
        /// The channel reads itself; `length` is checked up front when the layout fixes it.
        case custom(length: Int?, MilesightChannelReader)
    }

    var id: UInt8
    var type: UInt8
    var layout: Layout = .flat
    var values: [MilesightValue] = []

    init(id: UInt8, type: UInt8, layout: Layout = .flat, values: [MilesightValue]) {
        self.id = id
        self.type = type
        self.layout = layout
        self.values = values
    }

    init(id: UInt8, type: UInt8, length: Int?, reader: @escaping MilesightChannelReader) {
        self.init(id: id, type: type, layout: .custom(length: length, reader), values: [])
    }

    /// Data bytes after the two header bytes; nil when the data says its own length.
    var length: Int? {
        if case .custom(let length, _) = layout { return length }
        return values.reduce(0) { $0 + $1.encoding.width }
    }
}

/// What a walk has produced so far; custom channel readers write here.
struct MilesightOutput {
    var fields = JSONObject()
    var history: [JSON] = []
    var measurements: [Measurement] = []
    var warnings: [String] = []
    /// Set by a reader that met data it cannot size; the walk ends after it, like an unknown pair.
    var stopped = false

    /// Reads `values` as one group: their shown fields and their measurements, dated by a
    /// timestamp value among them.
    static func read(
        _ values: [MilesightValue], from reader: inout ByteReader
    ) throws(DecodeError) -> (fields: JSONObject, samples: [Measurement]) {
        var fields = JSONObject()
        var samples: [Measurement] = []
        var time: Double?
        for value in values {
            guard let (shown, number) = try value.read(from: &reader) else { continue }
            if value.isTimestamp { time = number }
            fields[value.name] = shown
            if let kind = value.kind, let number {
                samples.append(Measurement(kind: kind, value: number, unit: value.unit))
            }
        }
        if let time {
            for index in samples.indices { samples[index].timestamp = time }
        }
        return (fields, samples)
    }

    mutating func merge(_ object: JSONObject, into key: String) {
        var nested = fields[key]?.object ?? JSONObject()
        for (name, value) in object { nested[name] = value }
        fields[key] = .object(nested)
    }

    mutating func stop(_ warning: String) {
        warnings.append(warning)
        stopped = true
    }
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
        var output = MilesightOutput()
        if fPort != Milesight.defaultFPort {
            output.warnings.append("fPort \(fPort) is not Milesight's application port \(Milesight.defaultFPort)")
        }
        var reader = ByteReader(payload)
        while !reader.isAtEnd, !output.stopped {
            let start = reader.offset
            guard reader.remaining >= 2 else {
                throw error(.truncated, at: start, "a channel header needs 2 bytes, 1 left")
            }
            let id = try reader.u8()
            let type = try reader.u8()
            guard let channel = channels[Self.key(id, type)] else {
                output.warnings.append(
                    "unknown channel \(hex(id)) type \(hex(type)) at byte \(start); "
                        + "stopped with \(payload.count - start) bytes undecoded")
                break
            }
            if let length = channel.length, reader.remaining < length {
                throw error(
                    .truncated, at: start,
                    "channel \(hex(id)) type \(hex(type)) needs \(length) bytes, \(reader.remaining) left")
            }
            switch channel.layout {
            case .flat:
                // The common case, written straight into the output: no per-channel containers.
                for value in channel.values {
                    guard let (shown, number) = try value.read(from: &reader) else { continue }
                    output.fields[value.name] = shown
                    if let kind = value.kind, let number {
                        output.measurements.append(Measurement(kind: kind, value: number, unit: value.unit))
                    }
                }
            case .history:
                let (record, samples) = try MilesightOutput.read(channel.values, from: &reader)
                output.history.append(.object(record))
                output.measurements += samples
            case .nested(let key):
                let (fields, samples) = try MilesightOutput.read(channel.values, from: &reader)
                output.merge(fields, into: key)
                output.measurements += samples
            case .custom(_, let read):
                do {
                    try read(&reader, &output)
                } catch {
                    throw self.error(
                        .truncated, at: start,
                        "channel \(hex(id)) type \(hex(type)) ends early: \(error.reason)")
                }
            }
        }
        if !output.history.isEmpty { output.fields["history"] = .array(output.history) }
        return DecodedUplink(fields: output.fields, warnings: output.warnings, measurements: output.measurements)
    }

    private func error(_ code: DecodeError.Code, at offset: Int, _ reason: String) -> DecodeError {
        DecodeError(code, vendor: vendor, model: model, offset: offset, reason: reason)
    }

    private static func key(_ id: UInt8, _ type: UInt8) -> UInt16 { UInt16(id) << 8 | UInt16(type) }
}

func hexDigits(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16)
    return byte < 0x10 ? "0" + digits : digits
}

func hex(_ byte: UInt8) -> String { "0x" + hexDigits(byte).uppercased() }
