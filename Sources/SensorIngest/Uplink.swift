/// One LoRaWAN uplink as an envelope delivered it, before decoding.
public struct Uplink: Equatable, Sendable {
    /// 16 uppercase hex digits.
    public var devEUI: String
    public var fPort: Int
    /// The frame counter, or nil when the envelope left it out. Without it an uplink cannot be
    /// told apart from a repeat, so it is never treated as a duplicate.
    public var fCnt: Int?
    /// The decrypted FRMPayload.
    public var payload: [UInt8]
    /// The network server's receive time, Unix seconds.
    public var receivedAt: Double?
    /// The gateway that heard the uplink best (serial number or EUI), when the envelope says.
    public var gateway: String?
    /// Signal of the best reception, when the envelope says.
    public var rssi: Double?
    public var snr: Double?
    public var applicationID: String?
    /// The name the network server knows the device by (often the model, e.g. `EM300-TH`).
    public var deviceName: String?

    public init(
        devEUI: String, fPort: Int, fCnt: Int?, payload: [UInt8], receivedAt: Double? = nil,
        gateway: String? = nil, rssi: Double? = nil, snr: Double? = nil, applicationID: String? = nil,
        deviceName: String? = nil
    ) {
        self.devEUI = devEUI
        self.fPort = fPort
        self.fCnt = fCnt
        self.payload = payload
        self.receivedAt = receivedAt
        self.gateway = gateway
        self.rssi = rssi
        self.snr = snr
        self.applicationID = applicationID
        self.deviceName = deviceName
    }

    /// A DevEUI in canonical form (16 uppercase hex digits), or nil if `text` is not one.
    /// Accepts `-` or `:` separators, which people paste from device labels.
    public static func canonicalDevEUI(_ text: String) -> String? {
        // Byte-wise: every uplink passes here, and String case mapping is Unicode-aware and slow.
        var digits: [UInt8] = []
        digits.reserveCapacity(16)
        for byte in text.utf8 where byte != UInt8(ascii: "-") && byte != UInt8(ascii: ":") {
            guard digits.count < 16, Hex.isDigit(byte) else { return nil }
            digits.append(byte >= UInt8(ascii: "a") ? byte - 0x20 : byte)
        }
        guard digits.count == 16 else { return nil }
        return String(decoding: digits, as: UTF8.self)
    }
}
