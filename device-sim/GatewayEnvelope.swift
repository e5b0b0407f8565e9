/// The JSON a Milesight UG65/UG67 gateway's embedded network server publishes per uplink
/// (reference/sensors.md §1.4): numeric `applicationID`, lowercase `devEUI`, base64 `data`,
/// RFC 3339 UTC times with microseconds, radio metadata in `rxInfo[]`.
///
/// Built as bytes by hand: every field is generated here, so nothing needs escaping, and at
/// 100k messages/s a JSON tree per message would cost more than the broker does.
enum GatewayEnvelope {
    /// The gateway's own EUI as the UG65 reports it.
    static let gatewayMAC = "24e124fffef54092"

    static func uplink(devEUI: String, deviceName: String, fCnt: UInt32, fPort: Int, payload: [UInt8],
                       unixMicros: Int64, rssi: Int, snr: Double) -> [UInt8] {
        let time = RFC3339.format(unixMicros: unixMicros)
        var out: [UInt8] = []
        out.reserveCapacity(320)
        out += #"{"applicationID":1,"devEUI":""#.utf8
        out += devEUI.utf8
        out += #"","deviceName":""#.utf8
        out += deviceName.utf8
        out += #"","fCnt":"#.utf8
        out += String(fCnt).utf8
        out += #","fPort":"#.utf8
        out += String(fPort).utf8
        out += #","data":""#.utf8
        Base64.append(payload, to: &out)
        out += #"","time":""#.utf8
        out += time.utf8
        out += #"","rxInfo":[{"mac":""#.utf8
        out += gatewayMAC.utf8
        out += #"","name":"Local Gateway","rssi":"#.utf8
        out += String(rssi).utf8
        out += #","loRaSNR":"#.utf8
        out += String(snr).utf8
        out += #","time":""#.utf8
        out += time.utf8
        out += #""}]}"#.utf8
        return out
    }
}
