/// WS101 button, WS202 PIR, WS203 occupancy, WS301 door contact, WS303 leak (sensors.md §1.2 and
/// the `ws-series/*` READMEs). Little-endian.
///
/// WS101:  01 75 battery;  FF 2E 1 `button_event.status` 1 short press, 2 long press, 3 double press.
///         The vendor decoder also adds a random `button_event.msgid` on every decode; it is left
///         out here so the output is deterministic (sensors.md §1.1 item 4).
/// WS202:  01 75 battery;  03 00 1 pir 0 idle, 1 trigger;  04 00 1 daylight 0 dim, 1 light.
/// WS203:  01 75 battery;  03 67 temperature;  04 68 humidity;  05 00 1 occupancy 0 vacant, 1 occupied;
///         20 CE 9 history: timestamp u32, report_type u8 (3 pir trigger, 4 period), occupancy u8,
///         temperature i16/10, humidity u8/2 — several records may share one uplink.
/// WS301:  01 75 battery;  03 00 1 magnet_status 0 close, 1 open;  04 00 1 tamper_status
///         0 installed, 1 uninstalled;  SN on `FF 08` (6 bytes).
/// WS303:  01 75 battery;  03 00 1 leakage_status 0 normal, 1 leak.
///
/// Enum values the references leave out (WS202 pir 0, WS203 report types 0...2, WS303 0) are
/// the readings' numbers all the same; only their strings are our choice or `unknown`.
extension Milesight {
    static let ws101 = MilesightModel(
        "WS101",
        channels: attributeChannels + [
            batteryChannel,
            .init(id: 0xFF, type: 0x2E, layout: .nested("button_event"), values: [
                .init(
                    name: "status", encoding: .u8, labels: [1: "short press", 2: "long press", 3: "double press"],
                    kind: .button, unit: ReadingUnit.event)
            ]),
        ])

    static let ws202 = MilesightModel(
        "WS202",
        channels: attributeChannels + [
            batteryChannel,
            .init(id: 0x03, type: 0x00, values: [
                .init(name: "pir", encoding: .u8, labels: [0: "idle", 1: "trigger"], kind: .occupancy, unit: ReadingUnit.state)
            ]),
            .init(id: 0x04, type: 0x00, values: [.init(name: "daylight", encoding: .u8, labels: [0: "dim", 1: "light"])]),
        ])

    private static let ws203Occupancy = MilesightValue(
        name: "occupancy", encoding: .u8, labels: occupancyLabels, kind: .occupancy, unit: ReadingUnit.state)

    static let ws203 = MilesightModel(
        "WS203",
        channels: attributeChannels + [
            batteryChannel,
            .init(id: 0x03, type: 0x67, values: [temperature]),
            .init(id: 0x04, type: 0x68, values: [humidity]),
            .init(id: 0x05, type: 0x00, values: [ws203Occupancy]),
            .init(id: 0x20, type: 0xCE, layout: .history, values: [
                timestamp,
                .init(name: "report_type", encoding: .u8, labels: [3: "pir trigger", 4: "period"]),
                ws203Occupancy, temperature, humidity,
            ]),
        ])

    static let ws301 = MilesightModel(
        "WS301",
        channels: attributeChannels + [
            shortSerial,
            batteryChannel,
            .init(id: 0x03, type: 0x00, values: [
                .init(name: "magnet_status", encoding: .u8, labels: [0: "close", 1: "open"], kind: .door, unit: ReadingUnit.state)
            ]),
            .init(id: 0x04, type: 0x00, values: [
                .init(name: "tamper_status", encoding: .u8, labels: [0: "installed", 1: "uninstalled"])
            ]),
        ])

    static let ws303 = MilesightModel(
        "WS303",
        channels: attributeChannels + [
            batteryChannel,
            .init(id: 0x03, type: 0x00, values: [
                .init(name: "leakage_status", encoding: .u8, labels: [0: "normal", 1: "leak"], kind: .leak, unit: ReadingUnit.state)
            ]),
        ])
}
