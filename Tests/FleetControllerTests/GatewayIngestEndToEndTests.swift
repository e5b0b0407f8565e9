import FleetJSON
import FleetTestSupport
import Testing

/// A gateway registered with `gateways add` publishes with its own broker account under
/// `fc/v1/ingest/<name>/…`; the controller reads it with the registered format.
@Suite(.serialized) struct GatewayIngestEndToEndTests {
    @Test func registeredGatewayUplinksAreReadWithTheirFormat() throws {
        let p = try PairingDaemon(extraConfig: """
            [[sensors]]
            dev_eui = "24E124710C123456"
            vendor = "milesight"
            model = "AM307"
            resource = "hq/3/3.14"
            """)
        try p.start()
        let added = try p.cli(["gateways", "add", "ug65-lobby", "--format", "milesight-gateway"])
        #expect(added.status == 0, "\(added.output)")
        let password = try #require(added.output.split(separator: "\n")
            .first { $0.contains("password:") }?.split(separator: ":").last?.trimmingCharacters(in: " "))

        let uplink = #"{"applicationID":1,"devEUI":"24e124710c123456","fCnt":5,"fPort":85,"data":"A2fuAARofAUAAQbLAgd9qAMIfSUACXNmJw==","time":"2026-11-21T05:00:00Z"}"#
        let pub = try ChildProcess.run("/usr/bin/mosquitto_pub", [
            "-h", "127.0.0.1", "-p", "\(p.broker.port)", "-q", "1", "-u", "fc-gw-ug65-lobby", "-P", password,
            "-i", "fc-gw-ug65-lobby", "-t", "fc/v1/ingest/ug65-lobby/uplink", "-m", uplink,
        ], in: p.daemon.dir)
        #expect(pub.status == 0, "\(pub.output)")
        let telemetry = try p.await("/api/v1/telemetry?sensor=24E124710C123456&kind=co2") {
            $0["readings"]?.array?.count == 1
        }
        #expect(telemetry["readings"]?[0]?["value"] == 936)
    }

    /// A Pressac gateway stamps readings with naive local times; the zone given at `gateways add`
    /// places them, and survives a restart of the controller.
    @Test func registeredPressacGatewayTimesAreReadInItsZone() throws {
        let p = try PairingDaemon(extraConfig: """
            [[sensors]]
            dev_eui = "058A7F72"
            vendor = "pressac"
            model = "Occupancy-PIR"
            resource = "hq/10/10.02"
            """)
        try p.start()
        let refused = try p.cli(["gateways", "add", "sipg-10", "--format", "pressac", "--time-zone", "Mars/Olympus"])
        #expect(refused.status != 0)
        #expect(refused.output.contains("unknown time_zone Mars/Olympus"), "\(refused.output)")

        let added = try p.cli(["gateways", "add", "sipg-10", "--format", "pressac", "--time-zone", "+08:00"])
        #expect(added.status == 0, "\(added.output)")
        let password = try #require(added.output.split(separator: "\n")
            .first { $0.contains("password:") }?.split(separator: ":").last?.trimmingCharacters(in: " "))
        let listed = try p.cli(["gateways", "list"])
        #expect(listed.output.contains(#""time_zone":"+08:00""#), "\(listed.output)")

        _ = p.daemon.stop()
        try p.start()
        let pub = try ChildProcess.run("/usr/bin/mosquitto_pub", [
            "-h", "127.0.0.1", "-p", "\(p.broker.port)", "-q", "1", "-u", "fc-gw-sipg-10", "-P", password,
            "-i", "fc-gw-sipg-10", "-t", "fc/v1/ingest/sipg-10/sensors", "-m", GatewayMessages.pressacCamel,
        ], in: p.daemon.dir)
        #expect(pub.status == 0, "\(pub.output)")
        let telemetry = try p.await("/api/v1/telemetry?sensor=058A7F72&kind=occupancy") {
            $0["readings"]?.array?.count == 1
        }
        #expect(telemetry["readings"]?[0]?["timestamp"]?.double == 1_575_353_374, "2019-12-03 14:09:34 at +08:00")
    }
}
