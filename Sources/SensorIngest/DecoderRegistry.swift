/// Finds the decoder for a `(vendor, model)` pair. Names match case-insensitively.
///
/// Decoding is always by declared model, never by sniffing the payload: the same Milesight
/// channel pair means different things on different models (sensors.md §1.3).
public struct DecoderRegistry: Sendable {
    private var decoders: [String: any SensorDecoder] = [:]
    /// Canonical model names per vendor, in registration order, for error messages and listings.
    private var canonical: [String: [String]] = [:]

    /// Every decoder this build ships.
    public static let standard = DecoderRegistry(Milesight.models + Pressac.models)

    /// A registry of `decoders`; see ``register(_:)`` for name clashes.
    public init(_ decoders: [any SensorDecoder] = []) {
        for decoder in decoders { register(decoder) }
    }

    /// Adds a decoder under its model name and aliases; a later registration of the same name wins.
    public mutating func register(_ decoder: any SensorDecoder) {
        let vendor = decoder.vendor.lowercased()
        if canonical[vendor]?.contains(decoder.model) != true { canonical[vendor, default: []].append(decoder.model) }
        for name in [decoder.model] + decoder.aliases {
            decoders[Self.key(vendor, name)] = decoder
        }
    }

    /// The vendors with at least one decoder, sorted.
    public var vendors: [String] { canonical.keys.sorted() }

    /// The canonical model names of `vendor`, in registration order (aliases not included).
    public func models(vendor: String) -> [String] { canonical[vendor.lowercased()] ?? [] }

    /// The decoder for a model.
    ///
    /// - Throws: ``DecodeError`` `.unknownModel`, listing the known vendors or models.
    public func decoder(vendor: String, model: String) throws(DecodeError) -> any SensorDecoder {
        if let decoder = decoders[Self.key(vendor.lowercased(), model)] { return decoder }
        let known = models(vendor: vendor)
        guard !known.isEmpty else {
            throw DecodeError(
                .unknownModel, vendor: vendor, model: model,
                reason: "unknown vendor '\(vendor)'; known vendors: \(vendors.joined(separator: ", "))")
        }
        throw DecodeError(
            .unknownModel, vendor: vendor, model: model,
            reason: "unknown model '\(model)'; known \(vendor.lowercased()) models: \(known.joined(separator: ", "))")
    }

    /// Decodes one uplink with the model's decoder; errors carry the vendor and model.
    public func decode(
        vendor: String, model: String, fPort: Int, payload: [UInt8]
    ) throws(DecodeError) -> DecodedUplink {
        let decoder = try decoder(vendor: vendor, model: model)
        do {
            return try decoder.decode(fPort: fPort, payload: payload)
        } catch {
            throw error.attributed(vendor: decoder.vendor, model: decoder.model)
        }
    }

    private static func key(_ vendor: String, _ model: String) -> String {
        vendor + "/" + model.uppercased()
    }
}
