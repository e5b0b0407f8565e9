import CFleetShims
import FleetJSON
import Foundation
import FleetTestSupport
import Testing

private let people = """
    email,display_name,role,badge,active
    ada@example.com,Ada Admin,admin,B-0001,true

    """

private let am307 = "24E124710C123456"
/// AM307 README frame: 23.8 °C, 62 %RH, PIR trigger, light 2, CO2 936, tVOC, 1008.6 hPa.
private let readme = "A2fuAARofAUAAQbLAgd9qAMIfSUACXNmJw=="

private func gateway(_ devEUI: String, fCnt: Int, data: String = readme, name: String = "AM307") -> String {
    #"{"applicationID":1,"devEUI":"\#(devEUI.lowercased())","deviceName":"\#(name)","fCnt":\#(fCnt),"fPort":85,"data":"\#(data)","time":"2026-11-21T05:00:00.000000Z","rxInfo":[{"mac":"24e124fffef54092","rssi":-51,"loRaSNR":13.8}]}"#
}

private func chirpstack(_ devEUI: String, fCnt: Int) -> String {
    #"{"deduplicationId":"3ac7e3c4-4401-4b8d-9386-a5c902f9202d","time":"2026-11-21T05:00:01Z","deviceInfo":{"tenantId":"t","applicationId":"a","deviceProfileName":"AM307","deviceName":"room","devEui":"\#(devEUI.lowercased())"},"devAddr":"00bcb929","dr":5,"fCnt":\#(fCnt),"fPort":85,"data":"\#(readme)","rxInfo":[{"gatewayId":"0016c001f153a14c","rssi":-60,"snr":9.5}]}"#
}

private func tts(_ devEUI: String, fCnt: Int) -> String {
    #"{"end_device_ids":{"device_id":"room","application_ids":{"application_id":"app1"},"dev_eui":"\#(devEUI)"},"received_at":"2026-11-21T05:00:02Z","uplink_message":{"f_port":85,"f_cnt":\#(fCnt),"frm_payload":"\#(readme)","rx_metadata":[{"gateway_ids":{"gateway_id":"gw1"},"rssi":-70,"snr":7}]}}"#
}

private let subscriptions = """
    [[ingest.subscriptions]]
    topic = "milesight/uplink/#"
    format = "milesight-gateway"
    [[ingest.subscriptions]]
    topic = "application/+/device/+/event/up"
    format = "chirpstack-v4"
    [[ingest.subscriptions]]
    topic = "v3/+/devices/+/up"
    format = "tts-v3"
    """

/// Sensor ingest through the daemon binary against a real mosquitto: envelopes in, telemetry
/// out over the API, MQTT and the analytics export; claims, the claim window, displays.
@Suite(.serialized) struct IngestEndToEndTests {
    func json(_ d: DaemonHarness, _ path: String) -> JSON? {
        guard let r = try? d.get(path), r.status == 200 else { return nil }
        return try? JSON.parse(r.body)
    }

    /// `count` messages on `topic`, subscribed before this returns (mosquitto_sub -d prints SUBACK).
    func subscriber(_ d: DaemonHarness, _ topic: String, count: Int) throws -> ChildProcess {
        // Line-buffered, or the SUBACK line sits in stdio's buffer until exit.
        let sub = try ChildProcess("/usr/bin/stdbuf", [
            "-oL", "/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", "\(d.broker.port)", "-t", topic, "-C", "\(count)", "-W", "30", "-v", "-d",
        ], logPath: "\(d.dir)/sub-\(UInt32.random(in: 0...UInt32.max)).log")
        guard waitUntil(seconds: 10, { sub.output.contains("SUBACK") }) else { throw HarnessError("no SUBACK") }
        return sub
    }

    @Test func everyEnvelopeToTelemetryDuplicatesOnceRollupsAndMQTTExport() throws {
        let d = try DaemonHarness(people: people, extraConfig: """
            [[sensors]]
            dev_eui = "\(am307)"
            vendor = "milesight"
            model = "AM307"
            resource = "hq/3/3.14"
            \(subscriptions)
            """)
        try d.start()
        let telemetry = try subscriber(d, "fc/v1/telemetry/hq/hq/3/3.14/co2", count: 3)

        try d.publish(topic: "milesight/uplink/\(am307)", payload: gateway(am307, fCnt: 1))
        try d.publish(topic: "milesight/uplink/\(am307)", payload: gateway(am307, fCnt: 1))  // a second gateway
        try d.publish(topic: "application/a/device/\(am307.lowercased())/event/up", payload: chirpstack(am307, fCnt: 2))
        try d.publish(topic: "application/a/device/\(am307.lowercased())/event/up", payload: chirpstack(am307, fCnt: 2))
        try d.publish(topic: "v3/app1@ttn/devices/room/up", payload: tts(am307, fCnt: 3))
        try d.publish(topic: "v3/app1@ttn/devices/room/up", payload: tts(am307, fCnt: 3))
        var co2: [JSON] = []
        #expect(waitUntil(seconds: 10) {
            co2 = json(d, "/api/v1/telemetry?sensor=\(am307)&kind=co2")?["readings"]?.array ?? []
            return co2.count >= 3
        })
        #expect(co2.count == 3)
        #expect(co2.map { $0["timestamp"]?.double ?? 0 } == [1_795_237_202, 1_795_237_201, 1_795_237_200])
        let cli = try ChildProcess.run(DaemonHarness.binary, [
            "telemetry", "--sensor", am307, "--kind", "co2", "--limit", "2", "--config", d.configPath,
        ], in: d.dir)
        #expect(cli.status == 0, "\(cli.output)")
        #expect((try? JSON.parse(cli.output))?["readings"]?.array?.compactMap { $0["timestamp"]?.double }
                == [1_795_237_202, 1_795_237_201])
        #expect(try d.get("/metrics").text.contains("fleet_ingest_messages_total{outcome=\"duplicate\"} 3"))

        // The three readings went out on the telemetry topic, QoS 1.
        #expect(telemetry.wait() == 0)
        #expect(telemetry.output.components(separatedBy: "fc/v1/telemetry/hq/hq/3/3.14/co2 {").count == 4)

        // Rollups: one 15-minute bucket with the three CO2 values.
        let buckets = json(d, "/api/v1/telemetry?sensor=\(am307)&kind=co2&bucket=15m")?["buckets"]?.array ?? []
        #expect(buckets.count == 1)
        #expect(buckets.first?["count"] == 3)
        #expect(buckets.first?["avg"] == 936)
        #expect(try d.get("/api/v1/telemetry?bucket=5m").status == 400)

        let sensors = json(d, "/api/v1/sensors")?["sensors"]?.array ?? []
        #expect(sensors.first?["dev_eui"]?.string == am307)
        #expect(sensors.first?["latest"]?.array?.count == 7)
        #expect(sensors.first?["origin"] == "config")
        #expect(d.stop() == 0)
    }

    @Test func claimsFromCLIAndWindowSurviveARestart() throws {
        let d = try DaemonHarness(people: people, extraConfig: subscriptions)
        try d.start()
        let claim = try ChildProcess.run(DaemonHarness.binary, [
            "sensors", "claim", "24e124-710c-123456", "--model", "am307", "--resource", "hq/2/2.01", "--config", d.configPath,
        ], in: d.dir)
        #expect(claim.status == 0, "\(claim.output)")
        let tooLong = try d.request("POST", "/api/v1/sensors/permit",
                                    body: #"{"model":"AM307","resource":"hq/4","seconds":1200}"#)
        #expect(tooLong.status == 400)
        let permit = try ChildProcess.run(DaemonHarness.binary, [
            "sensors", "permit", "--seconds", "180", "--model", "AM307", "--resource", "hq/4/4.02", "--config", d.configPath,
        ], in: d.dir)
        #expect(permit.status == 0, "\(permit.output)")

        try d.publish(topic: "milesight/uplink/x", payload: gateway("24E1240000000042", fCnt: 1, name: "meeting room"))
        #expect(waitUntil(seconds: 10) {
            json(d, "/api/v1/sensors/permit")?["claimed"]?.array?.count == 1
        })
        #expect(try d.request("DELETE", "/api/v1/sensors/permit").status == 200)
        try d.publish(topic: "milesight/uplink/x", payload: gateway("24E1240000000043", fCnt: 1))
        #expect(waitUntil(seconds: 10) {
            json(d, "/api/v1/sensors/discovered")?["discovered"]?.array?.count == 1
        })

        #expect(d.stop() == 0)
        try d.start()
        let sensors = json(d, "/api/v1/sensors")?["sensors"]?.array ?? []
        #expect(sensors.map { $0["dev_eui"]?.string ?? "" } == ["24E1240000000042", am307])
        #expect(sensors.map { $0["resource"]?.string ?? "" } == ["hq/4/4.02", "hq/2/2.01"])
        #expect(sensors.first?["latest"]?.array?.count == 7)
        #expect(try d.request("DELETE", "/api/v1/sensors/\(am307)").status == 200)
        #expect(try d.request("DELETE", "/api/v1/sensors/\(am307)").status == 404)
        let bad = try d.request("POST", "/api/v1/sensors", body: #"{"dev_eui":"xyz","model":"AM307","vendor":"milesight","resource":"r"}"#)
        #expect(bad.status == 400)
        #expect(d.stop() == 0)
    }

    @Test func malformedFloodLeavesTheDaemonServingOnOneThread() throws {
        let d = try DaemonHarness(people: people, extraConfig: """
            [[sensors]]
            dev_eui = "\(am307)"
            vendor = "milesight"
            model = "AM307"
            resource = "hq/3/3.14"
            \(subscriptions)
            """)
        try d.start()
        var lines: [String] = []
        for i in 0..<3000 {
            switch i % 6 {
            case 0: lines.append("not json \(i)")
            case 1: lines.append(#"{"devEUI":"\#(am307)","fPort":85,"fCnt":\#(i),"data":"A2c="}"#)  // truncated
            case 2: lines.append(#"{"devEUI":"zz","fPort":85,"data":"AA=="}"#)
            case 3: lines.append(String(repeating: "[", count: 5000))
            case 4: lines.append(#"{"devEUI":"\#(am307)","fPort":85,"fCnt":\#(i),"data":"!!!"}"#)
            default: lines.append(#"{"deviceInfo":{"devEui":1},"fPort":"x"}"#)
            }
        }
        try writeFile("\(d.dir)/flood.txt", lines.joined(separator: "\n") + "\n")
        let flood = try ChildProcess.run("/bin/sh", ["-c",
            "/usr/bin/mosquitto_pub -h 127.0.0.1 -p \(d.broker.port) -q 1 -t milesight/uplink/flood -l < \(d.dir)/flood.txt"],
            in: d.dir)
        #expect(flood.status == 0, "\(flood.output)")
        // Oversized (past the 64 KiB limit) and a device nobody claimed.
        try writeFile("\(d.dir)/big.json", #"{"devEUI":"\#(am307)","pad":""# + String(repeating: "x", count: 70_000) + "\"}")
        let big = try ChildProcess.run("/usr/bin/mosquitto_pub", [
            "-h", "127.0.0.1", "-p", "\(d.broker.port)", "-q", "1", "-t", "milesight/uplink/big", "-f", "\(d.dir)/big.json",
        ], in: d.dir)
        #expect(big.status == 0, "\(big.output)")
        try d.publish(topic: "milesight/uplink/stranger", payload: gateway("24E1240000000077", fCnt: 1))
        try d.publish(topic: "milesight/uplink/\(am307)", payload: gateway(am307, fCnt: 77777))
        #expect(waitUntil(seconds: 20) {
            (json(d, "/api/v1/telemetry?sensor=\(am307)&kind=co2")?["readings"]?.array?.count ?? 0) == 1
        })
        let metrics = try d.get("/metrics").text
        #expect(metrics.contains("fleet_ingest_messages_total{outcome=\"received\"} 3003"), "\(metrics)")
        #expect(metrics.contains("fleet_ingest_messages_total{outcome=\"dead_letter\"} 3001"))
        #expect(metrics.contains("fleet_ingest_messages_total{outcome=\"oversized\"} 1"))
        #expect(metrics.contains("fleet_ingest_messages_total{outcome=\"unknown_device\"} 1"))

        // What was refused is listed with why, per device; the stranger waits to be claimed.
        let letters = try #require(json(d, "/api/v1/sensors/dead-letters?limit=1000"))
        let reasons = letters["dead_letters"]?.array?.compactMap { $0["reason"]?.string } ?? []
        #expect(reasons.count == 1000)
        #expect(reasons.first?.contains("oversized: 70") == true)
        let counts = letters["counts"]?.array ?? []
        #expect(counts.first { $0["device"] == "" }?["count"] == 2501)  // no device known: JSON, EUI, size
        #expect(counts.first { $0["device"]?.string == am307 }?["count"] == 500)  // truncated AM307 frames
        #expect(counts.first { $0["device"]?.string == am307 }?["last_reason"]?.string?.contains("AM307") == true)
        let cli = try ChildProcess.run(DaemonHarness.binary, ["sensors", "dead-letters", "--limit", "3", "--config", d.configPath],
                                       in: d.dir)
        #expect(cli.status == 0, "\(cli.output)")
        #expect((try? JSON.parse(cli.output))?["dead_letters"]?.array?.count == 3)
        let stranger = json(d, "/api/v1/sensors/discovered")?["discovered"]?.array?.first
        #expect(stranger?["dev_eui"] == "24E1240000000077")
        #expect(stranger?["reason"]?.string?.hasPrefix("not claimed") == true)
        #expect(try d.get("/healthz").status == 200)
        #expect(d.threadCount == 1)
        #expect(d.isRunning)
        // One log line per cause, not one per message.
        #expect(d.log.components(separatedBy: "dead-lettered").count < 40)
    }
}
