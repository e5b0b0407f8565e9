import ArgumentParser
import FleetLoop

/// `device-sim encode-am307`: one AM307 frame from values, for scripts that check the controller's
/// decoder (`fleet-controller decode --vendor milesight --model AM307 "$(device-sim encode-am307 …)"`)
/// or publish a hand-made uplink with mosquitto_pub.
struct EncodeAM307Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode-am307",
        abstract: "Print an AM307 uplink payload as hex (or base64, or a whole gateway envelope).",
        discussion: "Only the channels given are encoded, in channel order. With no values, a typical reading."
    )

    @Option(help: "Battery, %.") var battery: Int?
    // Unconditional so a negative value is not taken for an option name.
    @Option(parsing: .unconditional, help: "Temperature, °C (0.1 steps).") var temperature: Double?
    @Option(help: "Humidity, %RH (0.5 steps).") var humidity: Double?
    @Option(help: "PIR: 0 idle, 1 trigger.") var pir: Int?
    @Option(help: "Light level 0…5.") var light: Int?
    @Option(help: "CO2, ppm.") var co2: Int?
    @Option(help: "TVOC IAQ index (0.01 steps).") var tvoc: Double?
    @Option(help: "Pressure, hPa (0.1 steps).") var pressure: Double?

    @Flag(help: "Print base64 instead of hex.") var base64 = false

    @Flag(help: "Print the whole UG65 gateway envelope (JSON) instead of the payload.")
    var envelope = false

    @Option(help: "DevEUI for --envelope.") var devEUI = "24E124710C123456"
    @Option(name: .customLong("fcnt"), help: "Frame counter for --envelope.") var fCnt: UInt32 = 1

    func run() throws {
        var reading = AM307Reading(battery: battery, temperature: temperature, humidity: humidity, pir: pir,
                                   lightLevel: light, co2: co2, tvoc: tvoc, pressure: pressure)
        if reading == AM307Reading() {
            reading = AM307Reading(battery: 95, temperature: 23.8, humidity: 45.5, pir: 1, lightLevel: 3,
                                   co2: 612, tvoc: 1.12, pressure: 1013.2)
        }
        let frame = try AM307Encoder.encode(reading)
        if envelope {
            guard devEUI.count == 16, devEUI.allSatisfy(\.isHexDigit) else {
                throw ValidationError("--dev-eui must be 16 hex digits")
            }
            let bytes = GatewayEnvelope.uplink(
                devEUI: devEUI.lowercased(), deviceName: "AM307-\(devEUI.uppercased())", fCnt: fCnt,
                fPort: AM307Encoder.fPort, payload: frame, unixMicros: Int64(SystemClock().unixTime * 1_000_000),
                rssi: -60, snr: 9.5)
            print(String(decoding: bytes, as: UTF8.self))
        } else {
            print(base64 ? Base64.encode(frame) : Hex.encode(frame))
        }
    }
}
