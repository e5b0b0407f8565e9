import CFleetShims
import FleetJSON
import Foundation
import FleetTestSupport
import Testing

private let people = """
    email,display_name,role,badge,active
    ada@example.com,Ada Admin,admin,B-0001,true

    """

/// The documented gateway messages of sensors.md (sensor_vectors.json), published with the real
/// `mosquitto_pub` to a daemon against a real broker and read back over the HTTP API.
enum GatewayMessages {
    /// Milesight gateway, newer firmware, device added without a device model: the raw envelope
    /// with `deviceID`, `gatewaySN`, `gatewayTime`, `gpsEnable` and no `deviceName`; `data` is the
    /// LoRaObject.md EM300-TH frame (28.7 °C, 47 %RH).
    static let milesightRaw = #"{"applicationID":1,"applicationName":"server1","devEUI":"24e124136c191967","deviceID":22,"fCnt":84,"fPort":85,"gatewaySN":"6438F39254820003","gatewayTime":"2026-03-23T15:45:04+08:00","data":"A2cfAQRoXg==","rxInfo":[{"altitude":0,"gpsEnable":false,"latitude":0,"loRaSNR":12.2,"longitude":0,"mac":"c0ba1ffffe00733d","name":"Local Gateway","rssi":-57,"time":"2026-03-23T07:45:04.526398Z"}],"time":"2026-03-23T07:45:04.526398Z","txInfo":{"adr":true,"codeRate":"4/5","dataRate":{"bandwidth":125,"modulation":"LORA","spreadFactor":10},"frequency":868100000}}"#
    /// Pressac, 2019 firmware: lowercase keys, every value a string, no time.
    static let pressacLowercase = #"{"deviceid":"05189BE4","devicename":"PEnvironSensor-02","dbm":"-44","devicetype":"CO2-Temperature-and-Humidity","concentration":"1740","temperature":"27.2","humidity":"55"}"#
    /// Pressac, camelCase with typed values and a naive local timestamp.
    static let pressacCamel = #"{"timestamp":"2019-12-03 14:09:34","deviceName":"SIP-10-002M","deviceId":"058A7F72","deviceType":"Occupancy-PIR","gatewayName":"SIPG-10-004","location":"","dBm":"-88","security":"No","motionDetected":true,"supplyVoltage":{"value":2.58,"unit":"V"}}"#
    /// Pressac through Azure IoT Hub / Node-RED: `d2cMessage`, outer `deviceId` is the gateway.
    static let pressacWrapped = #"{"d2cMessage":{"timestamp":"2022-11-30 21:59:12","deviceName":"SIP-12-004M","deviceId":"058A927B","deviceType":"Occupancy-PIR","gatewayName":"SIPG-12-003","location":"","dBm":"-84","security":"No","motionDetected":true,"supplyVoltage":{"value":3.36,"unit":"V"}},"reportedProperties":[],"messageDate":"2022-11-30T13:59:12.467Z","deviceId":"SIPG-12-003","_msgid":"2797e8c8afa6efb9"}"#
    /// Irisys spec v3 counts, with the spec's own impossible dates (`2019-02-91`, `+0000`).
    static let irisysSpecCounts = #"[{"register":"MainEntranceIn","value":1,"t":"2019-02-91T12:30:00+0000"},{"register":"MainEntranceOut","value":1,"t":"2019-02-91T12:30:12+0000"},{"register":"MainEntranceIn","value":1,"t":"2019-02-91T12:30:14+0000"}]"#
}

@Suite(.serialized) struct IngestEnvelopesEndToEndTests {
    static let em300 = "24E124136C191967"
    static let counter = "V4D-17020025"

    func json(_ d: DaemonHarness, _ path: String) -> JSON? {
        guard let r = try? d.get(path), r.status == 200 else { return nil }
        return try? JSON.parse(r.body)
    }

    func readings(_ d: DaemonHarness, _ query: String) -> [JSON] {
        json(d, "/api/v1/telemetry?\(query)")?["readings"]?.array ?? []
    }

    func publish(_ d: DaemonHarness, _ topic: String, _ payload: String, retain: Bool = false) throws {
        let r = try ChildProcess.run("/usr/bin/mosquitto_pub", [
            "-h", "127.0.0.1", "-p", "\(d.broker.port)", "-q", "1", "-t", topic, "-m", payload,
        ] + (retain ? ["-r"] : []), in: d.dir)
        guard r.status == 0 else { throw HarnessError("mosquitto_pub exited \(r.status): \(r.output)") }
    }

    /// Irisys `t` for now, in the spec's `+0000` style.
    static func irisysTime(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'+0000'"
        return f.string(from: date)
    }

    /// Pressac's LoRaWAN sensors through ChirpStack v4 and The Things Stack v3, as their docs
    /// show the JSON: proto3 / TTS drop zero values, so `fCnt` / `f_cnt` (frame 0) and TTS's
    /// `f_port` are missing. Frame 0 is still a frame: its copy is a duplicate.
    @Test func pressacLoRaWANThroughChirpStackAndTTSWithZeroFieldsLeftOut() throws {
        let ct = "70B3D5E75E000001"
        let iaq = "70B3D5E75E000002"
        let d = try DaemonHarness(people: people, extraConfig: """
            [[sensors]]
            dev_eui = "\(ct)"
            vendor = "pressac"
            model = "CTLW_3CH"
            resource = "hq/plant/ahu-1"
            [[sensors]]
            dev_eui = "\(iaq)"
            vendor = "pressac"
            model = "SR_LIN_IAQ"
            resource = "hq/3/3.01"
            [[ingest.subscriptions]]
            topic = "application/+/device/+/event/+"
            format = "chirpstack-v4"
            [[ingest.subscriptions]]
            topic = "v3/+/devices/+/#"
            format = "tts-v3"
            """)
        try d.start()
        let chirpstack = #"{"deduplicationId":"3ac7e3c4-4401-4b8d-9386-a5c902f9202d","time":"2026-11-21T05:00:01.775023242+00:00","deviceInfo":{"tenantId":"t","applicationId":"17c82e96","deviceProfileName":"CT","deviceName":"ct-ahu-1","devEui":"\#(ct.lowercased())"},"devAddr":"00189440","dr":1,"fPort":60,"data":"AAAAABYEAQA=","rxInfo":[{"gatewayId":"0016c001f153a14c","rssi":-36,"snr":10.5}]}"#
        let topic = "application/17c82e96/device/\(ct.lowercased())/event/"
        try publish(d, topic + "up", chirpstack)
        try publish(d, topic + "up", chirpstack)  // the same frame 0 from a second gateway
        try publish(d, topic + "join", #"{"deviceInfo":{"devEui":"\#(ct.lowercased())"},"devAddr":"00189440"}"#)
        let tts = #"{"end_device_ids":{"device_id":"iaq-3-01","application_ids":{"application_id":"app1"},"dev_eui":"\#(iaq)"},"received_at":"2026-11-21T05:00:02.014773143Z","uplink_message":{"frm_payload":"JiEAAA+CWgEAgCAQBCkA1Q==","rx_metadata":[{"gateway_ids":{"gateway_id":"gtw1"},"rssi":-35,"snr":5}]}}"#
        try publish(d, "v3/app1@ttn/devices/iaq-3-01/up", tts)
        try publish(d, "v3/app1@ttn/devices/iaq-3-01/down/sent", #"{"end_device_ids":{"device_id":"iaq-3-01"}}"#)

        var air: [JSON] = []
        #expect(waitUntil(seconds: 10) {
            air = readings(d, "sensor=\(iaq)")
            return air.count == 6
        })
        #expect(air.first { $0["kind"] == "temperature" }?["value"] == 22.5)
        #expect(air.first { $0["kind"] == "co2" }?["value"] == 1065)
        #expect(air.allSatisfy { abs(($0["timestamp"]?.double ?? 0) - 1_795_237_202.014773) < 0.001 })
        let current = readings(d, "sensor=\(ct)")
        #expect(current.count == 1)
        #expect(current.first.map { $0["kind"] == "current" && $0["value"] == 10.46 && $0["unit"] == "A" } == true)
        let metrics = try d.get("/metrics").text
        #expect(metrics.contains("fleet_ingest_messages_total{outcome=\"duplicate\"} 1"))
        #expect(metrics.contains("fleet_ingest_messages_total{outcome=\"dead_letter\"} 0"), "join and down/sent are not uplinks")
        #expect(d.stop() == 0)
    }

    @Test func milesightRawPressacAndIrisysToTelemetry() throws {
        let d = try DaemonHarness(people: people, extraConfig: """
            [[sensors]]
            dev_eui = "\(Self.em300)"
            vendor = "milesight"
            model = "EM300-TH"
            resource = "hq/1/1.01"
            [[sensors]]
            dev_eui = "05189BE4"
            vendor = "pressac"
            model = "CO2-Temperature-and-Humidity"
            resource = "hq/12/12.01"
            [[sensors]]
            dev_eui = "058A7F72"
            vendor = "pressac"
            model = "Occupancy-PIR"
            resource = "hq/10/10.02"
            [[sensors]]
            dev_eui = "058A927B"
            vendor = "pressac"
            model = "Occupancy-PIR"
            resource = "hq/12/12.04"
            [[sensors]]
            dev_eui = "\(Self.counter)"
            vendor = "irisys"
            model = "Vector 4D"
            resource = "hq/lobby"
            [[ingest.subscriptions]]
            topic = "milesight/uplink/#"
            format = "milesight-gateway"
            [[ingest.subscriptions]]
            topic = "pressac/sensors"
            format = "pressac"
            time_zone = "+08:00"
            [[ingest.subscriptions]]
            topic = "irisys/#"
            format = "irisys"
            """)
        try d.start()

        // Milesight raw forwarding without a device model: decoded by the claimed model.
        try publish(d, "milesight/uplink/6438F39254820003", GatewayMessages.milesightRaw)
        var em300: [JSON] = []
        #expect(waitUntil(seconds: 10) {
            em300 = readings(d, "sensor=\(Self.em300)")
            return em300.count == 2
        })
        #expect(Set(em300.compactMap { $0["kind"]?.string }) == ["temperature", "humidity"])
        #expect(em300.first { $0["kind"] == "temperature" }?["value"] == 28.7)
        #expect(em300.allSatisfy { abs(($0["timestamp"]?.double ?? 0) - 1_774_251_904.526398) < 0.001 })

        // Pressac: both firmware styles, the Azure wrapper twice (a repeat is stored once), and
        // local times read in the subscription's zone (+08:00).
        for message in [GatewayMessages.pressacLowercase, GatewayMessages.pressacCamel, GatewayMessages.pressacWrapped,
                        GatewayMessages.pressacWrapped] {
            try publish(d, "pressac/sensors", message)
        }
        #expect(waitUntil(seconds: 10) { readings(d, "resource=hq/12/12.04").count == 2 })
        let co2 = readings(d, "sensor=05189BE4")
        #expect(Set(co2.compactMap { $0["kind"]?.string }) == ["co2", "temperature", "humidity"])
        #expect(co2.first { $0["kind"] == "co2" }?["value"] == 1740)
        #expect(co2.first { $0["kind"] == "temperature" }?["value"] == 27.2)
        let pir = readings(d, "sensor=058A7F72")
        #expect(pir.first { $0["kind"] == "occupancy" }?["value"] == 1)
        #expect(pir.first { $0["kind"] == "battery" }.map { $0["value"] == 2.58 && $0["unit"] == "V" } == true)
        #expect(pir.allSatisfy { $0["timestamp"]?.double == 1_575_353_374 }, "2019-12-03 14:09:34 at +08:00")
        let wrapped = readings(d, "sensor=058A927B")
        #expect(wrapped.count == 2, "the repeated message is stored once")
        #expect(wrapped.allSatisfy { $0["timestamp"]?.double == 1_669_816_752 }, "2022-11-30 21:59:12 at +08:00")

        // Irisys: the connected status, the spec's counts with unreadable dates (receive time),
        // a heartbeat, and a retained count that comes back on every subscribe.
        try publish(d, "irisys/\(Self.counter)/status", #"{"status":"connected"}"#)
        try publish(d, "irisys/\(Self.counter)/counts", GatewayMessages.irisysSpecCounts)
        try publish(d, "irisys/\(Self.counter)/counts", "[]")
        let t = Self.irisysTime(Date())
        try publish(d, "irisys/\(Self.counter)/counts",
                    #"[{"register":"MainEntranceIn","value":3,"t":"\#(t)"},{"register":"MainEntranceOut","value":1,"t":"\#(t)"}]"#,
                    retain: true)
        var counts: [JSON] = []
        #expect(waitUntil(seconds: 10) {
            counts = readings(d, "sensor=\(Self.counter)")
            return counts.count == 5
        })
        let byKind = Dictionary(grouping: counts) { $0["kind"]?.string ?? "" }
        #expect(byKind["people_in"]?.compactMap(\.["value"]?.double).reduce(0, +) == 5)
        #expect(byKind["people_out"]?.compactMap(\.["value"]?.double).reduce(0, +) == 2)
        #expect(json(d, "/api/v1/occupancy")?["resources"]?.array?.first { $0["resource"] == "hq/lobby" }?["people"] == 3)
        #expect(try d.get("/metrics").text.contains("fleet_ingest_messages_total{outcome=\"presence\"} 2"))

        // The counter dies without a DISCONNECT: the broker publishes its Last Will.
        let will = try ChildProcess("/usr/bin/stdbuf", [
            "-oL", "/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", "\(d.broker.port)", "-i", "irisys-\(Self.counter)",
            "-t", "irisys/\(Self.counter)/config", "--will-topic", "irisys/\(Self.counter)/status",
            "--will-payload", #"{"status":"disconnected"}"#, "-d",
        ], logPath: "\(d.dir)/irisys-will.log")
        #expect(waitUntil(seconds: 10) { will.output.contains("SUBACK") })
        will.signal(SIGKILL)
        _ = will.wait()
        func counterSensor() -> JSON? {
            json(d, "/api/v1/sensors")?["sensors"]?.array?.first { $0["dev_eui"]?.string == Self.counter }
        }
        #expect(waitUntil(seconds: 10) { counterSensor()?["online"] == false })

        // After a restart the broker hands over the retained counts again: not counted twice.
        #expect(d.stop() == 0)
        try d.start()
        try publish(d, "irisys/\(Self.counter)/counts", "[]")  // something after the retained copy
        #expect(waitUntil(seconds: 10) {
            (try? d.get("/metrics").text.contains("fleet_ingest_messages_total{outcome=\"duplicate\"} 2")) == true
        })
        #expect(readings(d, "sensor=\(Self.counter)").count == 5)
        #expect(waitUntil(seconds: 10) { counterSensor()?["online"] == true })
        #expect(d.stop() == 0)
    }
}
