/// AM102 / AM103 / AM107, the older "AM100" ambience sensors (sensors.md §1.2 "related models",
/// the `am-series/am102|am103|am107` READMEs and the AM10x uplink doc). Little-endian.
///
///     01 75 1  battery                 uint8 %
///     03 67 2  temperature             int16 / 10 °C
///     04 68 1  humidity                uint8 / 2 %RH
///     07 7D 2  co2                     uint16 ppm                        AM103, AM107
///     05 6A 2  activity                uint16 PIR activity count         AM107
///     06 65 6  illumination            uint16 lux, then                  AM107
///              infrared_and_visible    uint16, infrared uint16
///     08 7D 2  tvoc                    uint16, the raw number            AM107
///     09 73 2  pressure                uint16 / 10 hPa                   AM107
///
/// The reference gives no history-record layout for these models, so `20 CE` is not in their
/// tables: a history frame stops the walk with a warning rather than being guessed at.
/// AM107's tvoc unit is not given either; it stays a field and does not become a reading.
extension Milesight {
    static let am102 = MilesightModel("AM102", channels: am100Channels(co2: false))
    static let am103 = MilesightModel("AM103", channels: am100Channels(co2: true))
    static let am107 = MilesightModel(
        "AM107",
        channels: am100Channels(co2: true) + [
            .init(id: 0x05, type: 0x6A, values: [.init(name: "activity", encoding: .u16)]),
            .init(id: 0x06, type: 0x65, values: [
                .init(name: "illumination", encoding: .u16, kind: .light, unit: ReadingUnit.lux),
                .init(name: "infrared_and_visible", encoding: .u16),
                .init(name: "infrared", encoding: .u16),
            ]),
            .init(id: 0x08, type: 0x7D, values: [.init(name: "tvoc", encoding: .u16)]),
            .init(id: 0x09, type: 0x73, values: [pressure]),
        ])

    private static func am100Channels(co2 withCO2: Bool) -> [MilesightChannel] {
        var channels = attributeChannels + [
            batteryChannel,
            .init(id: 0x03, type: 0x67, values: [temperature]),
            .init(id: 0x04, type: 0x68, values: [humidity]),
        ]
        if withCO2 { channels.append(.init(id: 0x07, type: 0x7D, values: [co2])) }
        return channels
    }
}
