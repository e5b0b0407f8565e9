/// AM307 / AM308 / AM319 indoor air-quality sensors ("AM300 v2"): sensors.md §1.2 and the
/// `am-series/am307|am308|am319-hcho|am319-o3` READMEs. Little-endian throughout.
///
/// Live channels (`id type length → field`):
///
///     01 75 1  battery        uint8 %
///     03 67 2  temperature    int16 / 10 °C
///     04 68 1  humidity       uint8 / 2 %RH
///     05 00 1  pir            0 idle, 1 trigger
///     06 CB 1  light_level    uint8, level 0...5
///     07 7D 2  co2            uint16 ppm
///     08 7D 2  tvoc           uint16 / 100, IAQ index
///     08 E6 2  tvoc           uint16 µg/m³ (device set to µg/m³)
///     09 73 2  pressure       uint16 / 10 hPa
///     0A 7D 2  hcho           uint16 / 100 mg/m³       AM319-HCHO
///     0B 7D 2  pm2_5          uint16 µg/m³             AM308, AM319
///     0C 7D 2  pm10           uint16 µg/m³             AM308, AM319
///     0D 7D 2  o3             uint16 / 100 ppm         AM319-O3
///     0E 01 1  buzzer_status  0 off, 1 on
///
/// History records `20 CE` (tvoc as IAQ) and `21 CE` (tvoc in µg/m³): timestamp uint32 s,
/// temperature int16/10, humidity **uint16**/2, pir, light_level, co2, tvoc, pressure, then
/// [pm2_5, pm10] on AM308/AM319 and [hcho | o3] on AM319: 16, 20 or 22 bytes.
extension Milesight {
    static let am307 = MilesightModel("AM307", channels: amChannels(particles: false, gas: nil))
    static let am308 = MilesightModel("AM308", channels: amChannels(particles: true, gas: nil))
    /// "AM319" alone is the HCHO variant: the TTN `am319` codec decodes 0A 7D as hcho, and the
    /// vendor split the folder into variants later (sensors.md §6).
    static let am319HCHO = MilesightModel(
        "AM319-HCHO", aliases: ["AM319"], channels: amChannels(particles: true, gas: hcho))
    static let am319O3 = MilesightModel("AM319-O3", channels: amChannels(particles: true, gas: o3))

    private static let hcho = Gas(channel: 0x0A, name: "hcho", kind: .hcho, unit: ReadingUnit.milligramsPerCubicMetre)
    private static let o3 = Gas(channel: 0x0D, name: "o3", kind: .o3, unit: ReadingUnit.ppm)

    /// The extra gas sensor of an AM319 variant.
    private struct Gas {
        var channel: UInt8
        var name: String
        var kind: ReadingKind
        var unit: String
        var value: MilesightValue { .init(name: name, encoding: .u16, divisor: 100, kind: kind, unit: unit) }
    }

    private static let pir = MilesightValue(
        name: "pir", encoding: .u8, labels: [0: "idle", 1: "trigger"], kind: .occupancy, unit: ReadingUnit.state)
    private static let lightLevel = MilesightValue(
        name: "light_level", encoding: .u8, kind: .light, unit: ReadingUnit.level)
    private static let tvocIAQ = MilesightValue(
        name: "tvoc", encoding: .u16, divisor: 100, kind: .tvoc, unit: ReadingUnit.iaq)
    private static let tvocMass = MilesightValue(
        name: "tvoc", encoding: .u16, kind: .tvoc, unit: ReadingUnit.microgramsPerCubicMetre)
    private static let pm2_5 = MilesightValue(
        name: "pm2_5", encoding: .u16, kind: .pm2_5, unit: ReadingUnit.microgramsPerCubicMetre)
    private static let pm10 = MilesightValue(
        name: "pm10", encoding: .u16, kind: .pm10, unit: ReadingUnit.microgramsPerCubicMetre)

    /// History records spend two bytes on humidity, live frames one.
    private static let historyHumidity = MilesightValue(
        name: "humidity", encoding: .u16, divisor: 2, kind: .humidity, unit: ReadingUnit.relativeHumidity)

    private static func amChannels(particles: Bool, gas: Gas?) -> [MilesightChannel] {
        var live: [MilesightChannel] = [
            .init(id: 0x01, type: 0x75, values: [battery]),
            .init(id: 0x03, type: 0x67, values: [temperature]),
            .init(id: 0x04, type: 0x68, values: [humidity]),
            .init(id: 0x05, type: 0x00, values: [pir]),
            .init(id: 0x06, type: 0xCB, values: [lightLevel]),
            .init(id: 0x07, type: 0x7D, values: [co2]),
            .init(id: 0x08, type: 0x7D, values: [tvocIAQ]),
            .init(id: 0x08, type: 0xE6, values: [tvocMass]),
            .init(id: 0x09, type: 0x73, values: [pressure]),
            .init(id: 0x0E, type: 0x01, values: [
                .init(name: "buzzer_status", encoding: .u8, labels: [0: "off", 1: "on"])
            ]),
        ]
        if particles {
            live.append(.init(id: 0x0B, type: 0x7D, values: [pm2_5]))
            live.append(.init(id: 0x0C, type: 0x7D, values: [pm10]))
        }
        if let gas { live.append(.init(id: gas.channel, type: 0x7D, values: [gas.value])) }

        func record(tvoc: MilesightValue) -> [MilesightValue] {
            var values: [MilesightValue] = [
                timestamp, temperature, historyHumidity, pir, lightLevel, co2, tvoc, pressure,
            ]
            if particles { values += [pm2_5, pm10] }
            if let gas { values.append(gas.value) }
            return values
        }
        let history: [MilesightChannel] = [
            .init(id: 0x20, type: 0xCE, layout: .history, values: record(tvoc: tvocIAQ)),
            .init(id: 0x21, type: 0xCE, layout: .history, values: record(tvoc: tvocMass)),
        ]
        return attributeChannels + live + history
    }
}
