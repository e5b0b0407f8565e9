import FleetJSON
import Testing

@testable import SensorIngest

@Suite struct EnvelopeCLITests {
    @Test func pressacMessageAsTheCLIShowsIt() throws {
        let payload = Array(#"{"deviceid":"050b1ee8","devicetype":"Under-Desk-Sensor","motionDetected":"false","supplyVoltage":"3.26"}"#.utf8)
        let shown = try Envelope.decodeForCLI(vendor: "Pressac", payload: payload)
        let message = try #require(shown["messages"]?[0])
        #expect(message["device"] == "050B1EE8")
        #expect(message["model"] == "Under-Desk-Sensor")
        #expect(message["fields"]?["motionDetected"] == false)
        #expect(message["readings"] == [
            ["kind": "occupancy", "value": 0, "unit": "state"], ["kind": "battery", "value": 3.26, "unit": "V"],
        ])
        #expect(message["measured_at"] == .null)
    }

    @Test func irisysTakesTheCounterFromTheTopic() throws {
        let shown = try Envelope.decodeForCLI(vendor: "irisys", payload: Array("[]".utf8), topic: "irisys/V4D-9/counts")
        #expect(shown == ["messages": [["device": "V4D-9", "presence": "online"]]])
    }

    @Test func otherVendorsAreNotJSONMessages() {
        let error = #expect(throws: DecodeError.self) {
            try Envelope.decodeForCLI(vendor: "milesight", payload: Array("{}".utf8))
        }
        #expect(error?.code == .unknownModel)
    }
}
