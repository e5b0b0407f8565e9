/// EM300-TH, EM320-TH, EM500-CO2 and GS301 (sensors.md §1.2). Little-endian.
///
/// EM300-TH / EM320-TH:
///
///     01 75 1  battery      uint8 %
///     03 67 2  temperature  int16 / 10 °C
///     04 68 1  humidity     uint8 / 2 %RH
///     20 CE 8  history      timestamp u32, temperature i16/10, humidity u8/2, 1 reserved byte
///                           (EM320-TH: 7 bytes, no reserved byte)
///
/// EM500-CO2 moves CO2 and pressure to channels 05 and 06:
///
///     05 7D 2  co2          uint16 ppm
///     06 73 2  pressure     uint16 / 10 hPa
///     83 D7 5  temperature-mutation alarm: temperature i16/10, temperature_change i16/10, alarm u8
///     20 CE 11 history      timestamp u32, co2 u16, pressure u16/10, temperature i16/10, humidity u8/2
///
/// GS301 shifts temperature and humidity down by one channel:
///
///     02 67 2  temperature  int16 / 10 °C
///     03 68 1  humidity     uint8 / 2 %RH
///     04 7D 2  nh3          uint16 / 100 ppm   (0xFFFE polarizing, 0xFFFF error)
///     05 7D 2  h2s          uint16 / 100 ppm
///     06 7D 2  h2s          uint16 / 1000 ppm  (high-resolution sensor)
///     07 EA 5  calibration result, shown as hex (the reference gives no inner layout)
extension Milesight {
    static let em300TH = MilesightModel("EM300-TH", channels: thChannels(reservedHistoryByte: true))
    static let em320TH = MilesightModel("EM320-TH", channels: thChannels(reservedHistoryByte: false))

    static let em500CO2 = MilesightModel(
        "EM500-CO2",
        channels: attributeChannels + [
            batteryChannel,
            .init(id: 0x03, type: 0x67, values: [temperature]),
            .init(id: 0x04, type: 0x68, values: [humidity]),
            .init(id: 0x05, type: 0x7D, values: [co2]),
            .init(id: 0x06, type: 0x73, values: [pressure]),
            // The alarm byte's enum is not in the reference: shown as its number.
            .init(id: 0x83, type: 0xD7, values: [
                temperature,
                .init(name: "temperature_change", encoding: .i16, divisor: 10),
                .init(name: "temperature_alarm", encoding: .u8),
            ]),
            .init(id: 0x20, type: 0xCE, layout: .history, values: [timestamp, co2, pressure, temperature, humidity]),
        ])

    /// The GS301's gas readings are not values while the sensor warms up or fails.
    private static let gasSentinels = [0xFFFE: "polarizing", 0xFFFF: "error"]

    static let gs301 = MilesightModel(
        "GS301",
        channels: attributeChannels + [
            batteryChannel,
            .init(id: 0x02, type: 0x67, values: [temperature]),
            .init(id: 0x03, type: 0x68, values: [humidity]),
            .init(id: 0x04, type: 0x7D, values: [
                .init(name: "nh3", encoding: .u16, divisor: 100, sentinels: gasSentinels, kind: .nh3, unit: ReadingUnit.ppm)
            ]),
            .init(id: 0x05, type: 0x7D, values: [
                .init(name: "h2s", encoding: .u16, divisor: 100, sentinels: gasSentinels, kind: .h2s, unit: ReadingUnit.ppm)
            ]),
            .init(id: 0x06, type: 0x7D, values: [
                .init(name: "h2s", encoding: .u16, divisor: 1000, sentinels: gasSentinels, kind: .h2s, unit: ReadingUnit.ppm)
            ]),
            .init(id: 0x07, type: 0xEA, values: [.init(name: "calibration_result", encoding: .hex(5))]),
        ])

    private static func thChannels(reservedHistoryByte: Bool) -> [MilesightChannel] {
        var record = [timestamp, temperature, humidity]
        if reservedHistoryByte { record.append(.init(name: "reserved", encoding: .reserved(1))) }
        return attributeChannels + [
            batteryChannel,
            .init(id: 0x03, type: 0x67, values: [temperature]),
            .init(id: 0x04, type: 0x68, values: [humidity]),
            .init(id: 0x20, type: 0xCE, layout: .history, values: record),
        ]
    }
}
