import FleetJSON
import SensorIngest

/// What every fuzz target checks beyond "does not trap": decoding is deterministic, its output
/// serializes to JSON that parses again, and errors point inside the input.
public enum FuzzChecks {
    /// Decodes `data` with every model of `vendor`: byte 0 is the fPort, the rest the payload.
    public static func decoders(vendor: String, _ data: [UInt8]) {
        guard let port = data.first else { return }
        let payload = Array(data.dropFirst())
        let registry = DecoderRegistry.standard
        for model in registry.models(vendor: vendor) {
            let first = Result { () throws(DecodeError) in
                try registry.decode(vendor: vendor, model: model, fPort: Int(port), payload: payload)
            }
            switch first {
            case .success(let decoded):
                let again = try? registry.decode(vendor: vendor, model: model, fPort: Int(port), payload: payload)
                precondition(again == decoded, "\(vendor) \(model): decoding is not deterministic")
                roundTrips(.object(decoded.fields), "\(vendor) \(model)")
            case .failure(let error):
                precondition(error.code == .truncated, "\(vendor) \(model): unexpected \(error.code)")
                precondition((0...payload.count).contains(error.offset ?? 0), "\(vendor) \(model): offset outside input")
                precondition(error.model == model && error.vendor == vendor, "not attributed: \(error)")
            }
        }
    }

    /// Parses `data` as an envelope of `format` on `topic`; uplinks must be well-formed.
    public static func envelope(_ format: EnvelopeFormat, topic: String, _ data: [UInt8]) {
        let zone = LocalTimeZone("Europe/Berlin")
        let result = Result { () throws(DecodeError) in
            try Envelope.parse(format, topic: topic, payload: data, options: EnvelopeOptions(localTimeZone: zone))
        }
        switch result {
        case .success(let messages):
            for message in messages {
                switch message {
                case .lorawan(let uplink):
                    precondition(Uplink.canonicalDevEUI(uplink.devEUI) == uplink.devEUI, "devEUI not canonical")
                    precondition((0...255).contains(uplink.fPort), "fPort out of range")
                    precondition(uplink.payload.count <= data.count, "payload larger than its envelope")
                case .reading(let report):
                    precondition(!report.device.isEmpty, "reading without a device")
                    roundTrips(.object(report.fields), format.rawValue)
                case .presence(let device, _, _):
                    precondition(!device.isEmpty, "presence without a device")
                }
            }
        case .failure(let error):
            precondition(error.vendor == format.rawValue, "error not attributed to \(format.rawValue): \(error)")
            precondition(!error.reason.isEmpty, "error without a reason")
        }
    }

    private static func roundTrips(_ value: JSON, _ context: String) {
        let text = value.serialized()
        precondition((try? JSON.parse(text)) != nil, "\(context): output does not serialize to JSON: \(text)")
    }
}
