/// The Things Stack v3 MQTT integration (sensors.md §1.5): uplinks on
/// `v3/<application id>[@<tenant id>]/devices/<device id>/up`.
///
///     {"end_device_ids":{"device_id":"dev1","application_ids":{"application_id":"app1"},
///                        "dev_eui":"0004A30B001C0530",…},
///      "received_at":"2020-02-12T15:15:46.014773143Z",
///      "uplink_message":{"f_port":15,"f_cnt":1,"frm_payload":"gkHe",
///                        "rx_metadata":[{"gateway_ids":{"gateway_id":"gtw1"},"rssi":-35,"snr":5}],…}}
///
/// TTS omits fields whose value is "", 0 or false: a missing `f_cnt` is frame 0, a missing
/// `f_port` port 0 and a missing `frm_payload` an empty payload (the documented example has no
/// `f_port` at all). The receive time is the top-level `received_at`, else the uplink's.
enum TTSEnvelope {
    static let format = EnvelopeFormat.ttsV3.rawValue

    /// - Returns: the uplink, or nil for another message type (`join`, `down/…`,
    ///   `service/data`, `location/solved`) that a wildcard subscription delivers too.
    static func parse(topic: String, _ bytes: [UInt8]) throws(DecodeError) -> Uplink? {
        let segments = topic.split(separator: "/", omittingEmptySubsequences: false)
        if segments.count >= 4, segments.first == "v3", segments[2] == "devices", segments.count != 5 || segments[4] != "up" {
            return nil
        }
        let fields = try EnvelopeFields.parse(bytes, format: format)
        let ids = try fields.requiredObject("end_device_ids")
        guard ids.object["dev_eui"] != nil else {
            throw DecodeError(
                .missingField, vendor: format, field: "end_device_ids.dev_eui",
                reason: "missing (register the device's DevEUI in The Things Stack; sensors are claimed by DevEUI)")
        }
        let message = try fields.requiredObject("uplink_message")
        let outerTime = try fields.optionalTime("received_at")
        let innerTime = try message.optionalTime("received_at")
        var uplink = Uplink(
            devEUI: try ids.devEUI("dev_eui"),
            fPort: try message.optionalInteger("f_port", in: 0...255) ?? 0,
            fCnt: try message.optionalInteger("f_cnt", in: 0...Int(UInt32.max)) ?? 0,
            payload: try message.base64("frm_payload", absentIsEmpty: true),
            receivedAt: outerTime ?? innerTime,
            applicationID: try ids.optionalObject("application_ids")?.optionalString("application_id"),
            deviceName: try ids.optionalString("device_id"))
        for reception in try message.objects("rx_metadata") {
            let ids = try reception.optionalObject("gateway_ids")
            let name = try ids?.optionalString("gateway_id")
            let eui = try ids?.optionalString("eui")
            uplink.noteReception(
                rssi: try reception.optionalNumber("rssi"), snr: try reception.optionalNumber("snr"),
                gateway: name ?? eui)
        }
        return uplink
    }
}
