/// ChirpStack v4's MQTT integration with `json = true` (sensors.md §1.5): events arrive on
/// `application/<application id>/device/<dev eui>/event/<event>`; only `up` carries sensor data.
///
///     {"deduplicationId":"…","time":"2022-07-18T09:34:15.775023242+00:00",
///      "deviceInfo":{"applicationId":"…","deviceName":"…","devEui":"0101010101010101",…},
///      "fCnt":7,"fPort":1,"data":"qg==","rxInfo":[{"gatewayId":"…","rssi":-36,"snr":10.5,…}],…}
///
/// The JSON is proto3's mapping, which drops fields holding their zero value: a missing `fCnt`
/// is frame 0, a missing `fPort` is port 0 and a missing `data` an empty payload — they are read
/// as such, not as errors. The `object` a device-profile codec adds is ignored: we decode by the
/// claimed model ourselves.
enum ChirpStackEnvelope {
    static let format = EnvelopeFormat.chirpstackV4.rawValue

    /// - Returns: the uplink, or nil for another event (`join`, `status`, `ack`, …) that a
    ///   wildcard subscription delivers too.
    static func parse(topic: String, _ bytes: [UInt8]) throws(DecodeError) -> Uplink? {
        let segments = topic.split(separator: "/", omittingEmptySubsequences: false)
        if segments.count >= 2, segments[segments.count - 2] == "event", segments.last != "up" { return nil }
        let fields = try EnvelopeFields.parse(bytes, format: format)
        let device = try fields.requiredObject("deviceInfo")
        var uplink = Uplink(
            devEUI: try device.devEUI("devEui"),
            fPort: try fields.optionalInteger("fPort", in: 0...255) ?? 0,
            fCnt: try fields.optionalInteger("fCnt", in: 0...Int(UInt32.max)) ?? 0,
            payload: try fields.base64("data", absentIsEmpty: true),
            receivedAt: try fields.optionalTime("time"),
            applicationID: try device.optionalString("applicationId"),
            deviceName: try device.optionalString("deviceName"))
        for reception in try fields.objects("rxInfo") {
            uplink.noteReception(
                rssi: try reception.optionalNumber("rssi"), snr: try reception.optionalNumber("snr"),
                gateway: try reception.optionalString("gatewayId"))
        }
        return uplink
    }
}
