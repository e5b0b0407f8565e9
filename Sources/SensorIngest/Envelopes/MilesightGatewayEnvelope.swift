/// The JSON a Milesight gateway's embedded network server (UG65/UG67/UG56) publishes per uplink
/// (sensors.md §1.4):
///
///     {"applicationID":"1","devEUI":"24e124136b502217","deviceName":"EM300-TH","fCnt":128,
///      "fPort":85,"data":"A2fqAARoTwUAAA==","time":"2022-12-27T07:21:27.078763Z",
///      "rxInfo":[{"mac":"24e124fffef54092","rssi":-51,"loRaSNR":13.8,…}],"gatewaySN":"…",…}
///
/// Newer firmware forwarding "raw" (a device added without a device model) sends the same
/// object plus `deviceID`, `gatewaySN` and `gatewayTime`. Only the fields needed here are read;
/// the rest (txInfo, metadata, gatewayTime, …) is ignored, so firmware that adds fields keeps
/// working. A missing `fCnt` stays unknown (nil): this gateway always sends it, so its absence
/// is not proto3's dropped zero.
enum MilesightGatewayEnvelope {
    static let format = EnvelopeFormat.milesightGateway.rawValue

    static func parse(_ bytes: [UInt8]) throws(DecodeError) -> Uplink {
        let fields = try EnvelopeFields.parse(bytes, format: format)
        let devEUI = try fields.devEUI("devEUI")
        let fPort = try fields.integer("fPort", in: 0...255)
        let fCnt = try fields.optionalInteger("fCnt", in: 0...Int(UInt32.max))
        guard fields.object["data"] != nil else {
            // A gateway with a codec attached sends `object` instead of the raw bytes.
            let hint = fields.object["object"] != nil ? " (the gateway decodes itself: forward raw payloads)" : ""
            throw DecodeError(.missingField, vendor: format, field: "data", reason: "missing" + hint)
        }
        var uplink = Uplink(
            devEUI: devEUI, fPort: fPort, fCnt: fCnt, payload: try fields.base64("data", absentIsEmpty: false),
            receivedAt: try fields.optionalTime("time"),
            applicationID: try fields.stringOrInteger("applicationID"),
            deviceName: try fields.optionalString("deviceName"))
        for reception in try fields.objects("rxInfo") {
            uplink.noteReception(
                rssi: try reception.optionalNumber("rssi"), snr: try reception.optionalNumber("loRaSNR"),
                gateway: try reception.optionalString("mac"))
        }
        uplink.gateway = try fields.optionalString("gatewaySN") ?? uplink.gateway
        return uplink
    }
}
