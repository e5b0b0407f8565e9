/// One simulated AM307 in a room: values drift in small random steps within plausible indoor
/// bounds, CO2 and TVOC follow whether the room is occupied, and the battery drains slowly.
struct SimulatedAM307 {
    /// Uppercase, as printed on the device label and used in the controller's config.
    let devEUI: String
    /// Lowercase, as the UG65 gateway writes it in the envelope and topic.
    let gatewayEUI: String
    let rssi: Int
    let snr: Double
    private(set) var fCnt: UInt32 = 0

    private var temperature: Double
    private var humidity: Double
    private var co2: Double
    private var tvoc: Double
    private var pressure: Double
    private var battery: Double
    private var occupied: Bool
    private var light: Int

    /// DevEUIs count up from this base so a fleet is easy to claim in bulk and to recognise.
    static let euiBase: UInt64 = 0x24E1_2471_0000_0000

    /// - Parameter firstFCnt: the frame counter of the first uplink; a second run against the same
    ///   controller must continue the count, or its uplinks are dropped as duplicates.
    init(index: Int, firstFCnt: UInt32 = 1, using rng: inout some RandomNumberGenerator) {
        fCnt = firstFCnt &- 1
        let eui = Self.euiBase &+ UInt64(index)
        devEUI = Self.hex16(eui)
        gatewayEUI = devEUI.lowercased()
        rssi = Int.random(in: -95 ... -45, using: &rng)
        snr = Double(Int.random(in: -50...120, using: &rng)) / 10
        temperature = Double.random(in: 20...23.5, using: &rng)
        humidity = Double.random(in: 35...50, using: &rng)
        co2 = Double.random(in: 420...700, using: &rng)
        tvoc = Double.random(in: 0.5...1.5, using: &rng)
        pressure = Double.random(in: 1005...1020, using: &rng)
        battery = Double.random(in: 60...100, using: &rng)
        occupied = Bool.random(using: &rng)
        light = Int.random(in: 0...5, using: &rng)
    }

    /// Advances the room by one uplink interval and returns what the sensor reports, rounded to
    /// the resolution of each channel so the decoded values equal these exactly.
    mutating func step(using rng: inout some RandomNumberGenerator) -> AM307Reading {
        fCnt &+= 1
        // A room changes state now and then, not on every uplink.
        if Int.random(in: 0..<20, using: &rng) == 0 { occupied.toggle() }
        let co2Target = occupied ? 950.0 : 450.0
        co2 = clamp(co2 + (co2Target - co2) * 0.05 + Double.random(in: -15...15, using: &rng), 400, 2500)
        tvoc = clamp(tvoc + (occupied ? 0.02 : -0.02) + Double.random(in: -0.05...0.05, using: &rng), 0.1, 5)
        let heat = occupied ? 0.03 : -0.03
        temperature = clamp(temperature + heat + Double.random(in: -0.1...0.1, using: &rng), 17, 28)
        humidity = clamp(humidity + Double.random(in: -0.5...0.5, using: &rng), 20, 70)
        pressure = clamp(pressure + Double.random(in: -0.2...0.2, using: &rng), 980, 1040)
        battery = max(5, battery - 0.01)
        light = min(5, max(0, light + Int.random(in: -1...1, using: &rng)))
        let motion = occupied && Bool.random(using: &rng)
        return AM307Reading(
            battery: Int(battery.rounded(.up)),
            temperature: (temperature * 10).rounded() / 10,
            humidity: (humidity * 2).rounded() / 2,
            pir: motion ? 1 : 0,
            lightLevel: light,
            co2: Int(co2.rounded()),
            tvoc: (tvoc * 100).rounded() / 100,
            pressure: (pressure * 10).rounded() / 10)
    }

    private func clamp(_ v: Double, _ low: Double, _ high: Double) -> Double { min(high, max(low, v)) }

    static func hex16(_ v: UInt64) -> String {
        let digits = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}
