/// Values and channels shared by many Milesight models.
///
/// The "basic information" frames most devices send after joining (sensors.md §1.1 and the
/// Attribute table of each model's README) are `FF xx` pairs. Two dialects exist:
/// - ``attributeChannels``: the AM, EM, GS, WS and VS34x families (`ipso_version: "v0.1"`,
///   8-byte SN on `FF 16`);
/// - ``peopleCounterAttributes``: the VS12x/VS13x people counters (`protocol_version: 1`,
///   `hardware_version: "1.0"`, 4-byte firmware version on `FF 1F`).
/// VS121 and WS301 send a 6-byte SN on `FF 08` instead of `FF 16`.
extension Milesight {
    static let attributeChannels: [MilesightChannel] = [
        MilesightChannel(id: 0xFF, type: 0x01, values: [.init(name: "ipso_version", encoding: .ipsoVersion)]),
        MilesightChannel(id: 0xFF, type: 0x09, values: [.init(name: "hardware_version", encoding: .hardwareVersion)]),
        MilesightChannel(id: 0xFF, type: 0x0A, values: [.init(name: "firmware_version", encoding: .firmwareVersion)]),
        // The README gives no example for the TSL version; shown like the firmware version.
        MilesightChannel(id: 0xFF, type: 0xFF, values: [.init(name: "tsl_version", encoding: .firmwareVersion)]),
    ] + sharedAttributes

    /// The people counters' dialect (VS121 README, VS132 README). Power-on and reset frames are
    /// decoded as in the other dialect; the HEAD VS121/VS133 decoders throw on `FF 0B FF`,
    /// which would lose the uplink (sensors.md §1.1 item 3).
    static let peopleCounterAttributes: [MilesightChannel] = [
        MilesightChannel(id: 0xFF, type: 0x01, values: [.init(name: "protocol_version", encoding: .u8)]),
        MilesightChannel(id: 0xFF, type: 0x09, values: [.init(name: "hardware_version", encoding: .dotted(2))]),
        MilesightChannel(id: 0xFF, type: 0x1F, values: [.init(name: "firmware_version", encoding: .dotted(4))]),
    ] + sharedAttributes

    /// Frames both dialects send alike.
    static let sharedAttributes: [MilesightChannel] = [
        MilesightChannel(id: 0xFF, type: 0x16, values: [.init(name: "sn", encoding: .hex(8))]),
        MilesightChannel(
            id: 0xFF, type: 0x0F,
            values: [.init(name: "lorawan_class", encoding: .u8, labels: lorawanClasses)]),
        // Devices send `FF FE FF`; the HEAD AM decoders throw on it although the README lists it.
        MilesightChannel(
            id: 0xFF, type: 0xFE,
            values: [.init(name: "reset_event", encoding: .u8, labels: [1: "reset", 0xFF: "reset"])]),
        // Devices send `FF 0B FF` at power-on. The VS34x/EM500 decoders show it as "on"; the HEAD
        // AM decoders map only 0/1 and show "unknown". "on" is what the frame means.
        MilesightChannel(
            id: 0xFF, type: 0x0B,
            values: [.init(name: "device_status", encoding: .u8, labels: [0: "off", 1: "on", 0xFF: "on"])]),
    ]

    /// `FF 08`: a 6-byte serial number (VS121, WS301).
    static let shortSerial = MilesightChannel(id: 0xFF, type: 0x08, values: [.init(name: "sn", encoding: .hex(6))])

    static let lorawanClasses: [Int: String] = [0: "Class A", 1: "Class B", 2: "Class C", 3: "Class CtoB"]

    // MARK: Values most models share

    static let battery = MilesightValue(name: "battery", encoding: .u8, kind: .battery, unit: ReadingUnit.percent)
    static let temperature = MilesightValue(
        name: "temperature", encoding: .i16, divisor: 10, kind: .temperature, unit: ReadingUnit.celsius)
    /// Live frames spend one byte on humidity (history records of some models two).
    static let humidity = MilesightValue(
        name: "humidity", encoding: .u8, divisor: 2, kind: .humidity, unit: ReadingUnit.relativeHumidity)
    static let co2 = MilesightValue(name: "co2", encoding: .u16, kind: .co2, unit: ReadingUnit.ppm)
    static let pressure = MilesightValue(
        name: "pressure", encoding: .u16, divisor: 10, kind: .pressure, unit: ReadingUnit.hectopascal)
    static let timestamp = MilesightValue(name: "timestamp", encoding: .u32, isTimestamp: true)

    static let batteryChannel = MilesightChannel(id: 0x01, type: 0x75, values: [battery])

    /// `0 vacant / 1 occupied`, the seat and room occupancy enum (VS34x, WS203, VS330).
    static let occupancyLabels: [Int: String] = [0: "vacant", 1: "occupied"]
}
