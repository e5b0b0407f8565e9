import FleetJSON

/// Turns one model's uplink payload into the vendor's own fields plus normalized measurements.
///
/// Decoders are pure: no I/O, no clock, and no traps on any input. Register them in a
/// ``DecoderRegistry``; `(vendor, model)` picks the decoder, never the payload's content.
public protocol SensorDecoder: Sendable {
    /// Lowercase vendor key, e.g. `milesight`.
    var vendor: String { get }
    /// The model's canonical name, e.g. `AM319-HCHO`.
    var model: String { get }
    /// Other names the same decoder answers to, e.g. `AM319` for the HCHO variant.
    var aliases: [String] { get }
    /// Decodes one uplink.
    ///
    /// - Throws: ``DecodeError`` when the payload cannot be decoded at all (for example a
    ///   truncated value). Content the decoder merely does not understand is a warning.
    func decode(fPort: Int, payload: [UInt8]) throws(DecodeError) -> DecodedUplink
}

extension SensorDecoder {
    public var aliases: [String] { [] }
}

/// The result of decoding one uplink.
public struct DecodedUplink: Equatable, Sendable {
    /// The vendor decoder's field names, units and enum strings, in payload order, so dashboards
    /// built on the vendor codec read the same object (`"pir": "trigger"`, `"tvoc": 0.37`).
    public var fields: JSONObject
    /// What was skipped or guessed, e.g. an unknown channel where decoding stopped.
    public var warnings: [String]
    /// The vendor-neutral values, for ``Reading``s.
    public var measurements: [Measurement]

    public init(fields: JSONObject = JSONObject(), warnings: [String] = [], measurements: [Measurement] = []) {
        self.fields = fields
        self.warnings = warnings
        self.measurements = measurements
    }
}

/// Why an uplink could not be turned into fields: a payload, an envelope or an argument.
///
/// One error type serves the whole module, so the dead-letter table and the CLI get the same
/// context everywhere: which vendor or envelope format, which model, where in the input, and why.
public struct DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure, so callers can count and log by kind without parsing `reason`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The input ended inside a value the layout says is there.
        public static let truncated = Code("truncated")
        /// No decoder is registered for the vendor or model.
        public static let unknownModel = Code("unknown-model")
        /// The envelope is not valid JSON.
        public static let malformedJSON = Code("malformed-json")
        /// A required envelope field is absent.
        public static let missingField = Code("missing-field")
        /// An envelope field has the wrong type or an impossible value.
        public static let invalidField = Code("invalid-field")
        /// Base64 text that a strict decoder refuses.
        public static let base64 = Code("base64")
        /// A timestamp that is not RFC 3339.
        public static let timestamp = Code("timestamp")
    }

    /// The kind of failure; dead letters and logs are grouped by it.
    public var code: Code
    /// `milesight`, or the envelope format (`milesight-gateway`); empty until the caller knows it.
    public var vendor: String
    /// The model the payload was decoded as; empty for envelope errors.
    public var model: String
    /// Byte (or character) offset of the problem in the input, when there is one.
    public var offset: Int?
    /// The envelope field at fault (`devEUI`, `data`, `rxInfo[0].rssi`), when there is one.
    public var field: String?
    /// What is wrong, for a person.
    public var reason: String

    public init(
        _ code: Code, vendor: String = "", model: String = "", offset: Int? = nil, field: String? = nil,
        reason: String
    ) {
        self.code = code
        self.vendor = vendor
        self.model = model
        self.offset = offset
        self.field = field
        self.reason = reason
    }

    /// The same error with the vendor and model filled in where they were still empty; the byte
    /// reader and the small parsers throw before they know whose payload they read.
    func attributed(vendor: String, model: String = "") -> DecodeError {
        var copy = self
        if copy.vendor.isEmpty { copy.vendor = vendor }
        if copy.model.isEmpty { copy.model = model }
        return copy
    }

    /// The same error located inside an envelope field (a base64 or time string).
    func located(in field: String) -> DecodeError {
        var copy = self
        copy.field = field
        return copy
    }

    public var description: String {
        var text = vendor.isEmpty ? "" : vendor
        if !model.isEmpty { text += text.isEmpty ? model : " \(model)" }
        if !text.isEmpty { text += ": " }
        if let field { text += "\(field): " }
        text += reason
        if let offset { text += " (at byte \(offset))" }
        return text
    }
}
