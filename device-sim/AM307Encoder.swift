/// One AM307 uplink's values in the units of the vendor's channel table. A nil field is left out
/// of the frame, as a device does for a sensor it did not read.
struct AM307Reading: Equatable {
    var battery: Int?          // %
    var temperature: Double?   // °C
    var humidity: Double?      // %RH, steps of 0.5
    var pir: Int?              // 0 idle, 1 trigger
    var lightLevel: Int?       // level 0…5
    var co2: Int?              // ppm
    var tvoc: Double?          // IAQ index, steps of 0.01 (channel type 0x7D)
    var pressure: Double?      // hPa, steps of 0.1
}

/// Encodes an AM307 uplink frame: `channel id, channel type, value` per field, little-endian,
/// in channel order. The layout comes from the AM307 table in reference/sensors.md §1.2.
enum AM307Encoder {
    /// fPort of every Milesight uplink.
    static let fPort = 85

    static func encode(_ r: AM307Reading) throws(SimError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(26)
        if let v = r.battery {
            out += [0x01, 0x75, try uint8(Double(v), scale: 1, key: "battery", range: 0...100)]
        }
        if let v = r.temperature {
            // int16 LE tenths of a degree; negative values are two's complement.
            let raw = try scaled(v, scale: 10, key: "temperature", range: -32768...32767)
            out += [0x03, 0x67] + le16(UInt16(bitPattern: Int16(raw)))
        }
        if let v = r.humidity {
            out += [0x04, 0x68, try uint8(v, scale: 2, key: "humidity", range: 0...255)]
        }
        if let v = r.pir {
            out += [0x05, 0x00, try uint8(Double(v), scale: 1, key: "pir", range: 0...1)]
        }
        if let v = r.lightLevel {
            out += [0x06, 0xCB, try uint8(Double(v), scale: 1, key: "light", range: 0...5)]
        }
        if let v = r.co2 {
            out += [0x07, 0x7D] + le16(UInt16(try scaled(Double(v), scale: 1, key: "co2", range: 0...65535)))
        }
        if let v = r.tvoc {
            out += [0x08, 0x7D] + le16(UInt16(try scaled(v, scale: 100, key: "tvoc", range: 0...65535)))
        }
        if let v = r.pressure {
            out += [0x09, 0x73] + le16(UInt16(try scaled(v, scale: 10, key: "pressure", range: 0...65535)))
        }
        return out
    }

    private static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }

    private static func uint8(_ v: Double, scale: Double, key: String, range: ClosedRange<Int>) throws(SimError) -> UInt8 {
        UInt8(try scaled(v, scale: scale, key: key, range: range))
    }

    /// `v × scale`, rounded to the nearest step, checked against what the field can hold.
    private static func scaled(_ v: Double, scale: Double, key: String, range: ClosedRange<Int>) throws(SimError) -> Int {
        let raw = (v * scale).rounded()
        guard raw.isFinite, raw >= Double(range.lowerBound), raw <= Double(range.upperBound) else {
            let low = Double(range.lowerBound) / scale, high = Double(range.upperBound) / scale
            throw SimError("encode AM307", key: key, "\(v) does not fit; the field holds \(low)…\(high)")
        }
        return Int(raw)
    }
}
