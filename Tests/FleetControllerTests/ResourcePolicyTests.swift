import FleetJSON
import FleetTestSupport
import Testing
@testable import FleetController

/// `[[resources]]`: a door's policy comes from its resource (or the nearest one above it), and a
/// device's own `minimum_role`/`actions` win over it.
@Suite(.serialized) struct ResourcePolicyTests {
    private func parse(_ text: String) throws(ConfigError) -> Configuration {
        try Configuration.parse(text: text, file: "/etc/fc.toml", environment: [:])
    }

    private static let floors = """
        [[resources]]
        id = "hq/12"
        minimum_role = "manager"
        [[resources]]
        id = "hq/12/boardroom"
        minimum_role = "admin"
        actions = ["checkin", "open"]
        """

    @Test(arguments: [
        ("hq/12", "manager"), ("hq/12/12.04", "manager"), ("hq/12/boardroom", "admin"),
        ("hq/12/boardroom/east", "admin"), ("hq/120", nil), ("hq", nil),
    ] as [(String, String?)])
    func theNearestResourceAboveADeviceApplies(resource: String, role: String?) throws {
        #expect(try parse(Self.floors).resourcePolicy(for: resource)?.minimumRole == role)
    }

    @Test(arguments: [
        ("[[resources]]\nid = \"hq/12\"\nminimum_role = \"manger\"", "resources[0].minimum_role", "unknown role \"manger\""),
        ("[[resources]]\nid = \"hq/12\"\nactions = [\"unlock\"]", "resources[0].actions", "unknown action \"unlock\""),
        ("[[resources]]\nid = \"hq/12/\"", "resources[0].id", "not a resource path"),
        ("[[resources]]\nid = \"hq\"\n[[resources]]\nid = \"hq\"", "resources[1].id", "duplicate resource"),
        ("[[resources]]\nid = \"hq\"\nfloor = 3", "resources[0].floor", "unknown key"),
        ("[[devices]]\nid = \"d\"\nkind = \"kiosk\"\nresource = \"hq\"\nminimum_role = \"boss\"", "devices[0].minimum_role",
         "unknown role \"boss\""),
    ])
    func aMisspeltPolicyIsRefusedWithItsKey(toml: String, key: String, message: String) {
        do {
            _ = try parse(toml)
            Issue.record("accepted: \(toml)")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func aDoorDecidesWithItsResourcesPolicy() throws {
        let d = try DaemonHarness(people: """
            email,display_name,role,badge,active
            ada@example.com,Ada Admin,admin,B-0001,true
            max@example.com,Max Manager,manager,B-3001,true
            bob@example.com,Bob User,user,B-1001,true

            """, extraConfig: """
            \(Self.floors)
            [[devices]]
            id = "door-12"
            kind = "checkin_panel"
            resource = "hq/12/12.04"
            [[devices]]
            id = "door-boardroom"
            kind = "checkin_panel"
            resource = "hq/12/boardroom"
            [[devices]]
            id = "kiosk-12"
            kind = "kiosk"
            resource = "hq/12/12.01"
            minimum_role = "user"
            """)
        try d.start()
        func ask(_ device: String, _ badge: String, _ action: String = "checkin") throws -> JSON {
            try JSON.parse(d.mqttRequest(device: device, op: "authorize",
                                         body: #"{"credential":{"type":"badge","value":"\#(badge)"},"action":"\#(action)"}"#))
        }
        #expect(try ask("door-12", "B-1001")["reason"] == "role_too_low")
        #expect(try ask("door-12", "B-3001")["decision"] == "allow")
        #expect(try ask("door-12", "B-3001", "open")["reason"] == "device_not_allowed")
        #expect(try ask("door-boardroom", "B-3001")["reason"] == "role_too_low")
        #expect(try ask("door-boardroom", "B-0001", "open")["decision"] == "allow")
        #expect(try ask("kiosk-12", "B-1001")["decision"] == "allow", "the device's own minimum_role wins")
    }
}
