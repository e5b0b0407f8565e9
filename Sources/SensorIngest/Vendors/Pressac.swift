import FleetJSON

/// Pressac's LoRaWAN sensors (sensors.md §2.2; the layout tables of
/// `pressac-communications/SensorDecoders`). Output uses the Pressac decoder's field names, units
/// and strings; measurements carry our kinds. Pressac's EnOcean sensors arrive as gateway JSON
/// instead: see ``PressacGatewayEnvelope``.
///
/// Registered models: `CTLW` (aliases `CTLW_1CH`, `CTLW_3CH`, `CT-CLAMP`), `SR_LIN_IAQ` (alias
/// `IAQ`) and `SR_LIN_RCS` (alias `RCS`); the last two share one layout.
public enum Pressac {
    public static let vendor = "pressac"
    /// The CT clamp's application port.
    public static let ctClampFPort = 60

    static let models: [any SensorDecoder] = [
        PressacCTClamp(),
        PressacRoomSensor(model: "SR_LIN_IAQ", aliases: ["IAQ"]),
        PressacRoomSensor(model: "SR_LIN_RCS", aliases: ["RCS"]),
    ]
}

/// CT clamp CTLW_1CH/3CH_xxxA_Lxxx on fPort 60:
///
///     0-1  int16 LE  ch3_amps   |raw| / 100
///     2-3  int16 LE  ch1_amps   |raw| / 100
///     4-5  int16 LE  ch2_amps   |raw| / 100
///     6    uint8     counter    number of 30-s readings averaged
///
/// The channel rotation is the vendor's (bytes 0-1 are channel 3). Bytes after the counter are
/// ignored, as the vendor decoder does (its README example carries one). The clamp gives one
/// `current` reading, the sum of its channels: a single-channel clamp reports zeros on the
/// others, and summed phase currents are what load dashboards chart.
struct PressacCTClamp: SensorDecoder {
    let vendor = Pressac.vendor
    let model = "CTLW"
    let aliases = ["CTLW_1CH", "CTLW_3CH", "CT-CLAMP"]

    func decode(fPort: Int, payload: [UInt8]) throws(DecodeError) -> DecodedUplink {
        var reader = ByteReader(payload)
        let ch3 = amps(try reader.i16())
        let ch1 = amps(try reader.i16())
        let ch2 = amps(try reader.i16())
        let counter = try reader.u8()
        var result = DecodedUplink(fields: [
            "ch1_amps": .number(ch1), "ch2_amps": .number(ch2), "ch3_amps": .number(ch3),
            "counter": .number(Double(counter)),
        ])
        result.measurements = [Measurement(kind: .current, value: ch1 + ch2 + ch3, unit: ReadingUnit.ampere)]
        if fPort != Pressac.ctClampFPort {
            result.warnings.append("fPort \(fPort) is not the CT clamp's port \(Pressac.ctClampFPort)")
        }
        return result
    }

    private func amps(_ raw: Int16) -> Double { Double(raw.magnitude) / 100 }
}
