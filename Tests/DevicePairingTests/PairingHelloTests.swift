import DevicePairing
import FleetJSON
import Testing

private let good: JSONObject = ["id": "panel-7f3c9a", "kind": "room_display", "model": "RD-10", "firmware": "1.2.3",
                                "password": "0123456789abcdef0123", "code": "WDJB-MJHT", "fingerprint": "7F3C-9A"]

private func with(_ key: String, _ value: JSON?) -> [UInt8] {
    var o = good
    o[key] = value
    if value == nil { o = JSONObject(good.filter { $0.key != key }.map { ($0.key, $0.value) }) }
    return JSON.object(o).bytes
}

@Suite struct PairingHelloTests {
    @Test func aGoodHelloDecodesWithTheCodeNormalized() throws {
        let h = try PairingHello.decode(JSON.object(good).bytes)
        #expect(h.deviceID == "panel-7f3c9a")
        #expect(h.code == "WDJBMJHT")
        #expect(h.fingerprint == "7F3C-9A")
    }

    @Test(arguments: [
        ("id", JSON("Panel 1")), ("id", JSON("fc-admin")), ("id", nil), ("id", JSON(String(repeating: "a", count: 65))),
        ("kind", JSON("toaster")), ("model", JSON("")), ("firmware", JSON(String(repeating: "1", count: 33))),
        ("password", JSON("short")), ("password", JSON("0123456789abcdef\u{1}")), ("code", JSON("WDJB-MJHA")),
        ("code", JSON("WDJB")), ("fingerprint", JSON("7F 3C")), ("fingerprint", JSON(12)),
    ] as [(String, JSON?)])
    func badFieldsAreNamed(_ key: String, _ value: JSON?) {
        #expect(throws: PairingError.self) { try PairingHello.decode(with(key, value)) }
        do { _ = try PairingHello.decode(with(key, value)) } catch {
            #expect(error.field == key, "\(error)")
            #expect(error.code == .invalidHello)
        }
    }

    @Test(arguments: ["not json", "[1,2]", String(repeating: " ", count: 5000)])
    func garbageIsRefused(_ text: String) {
        #expect(throws: PairingError.self) { try PairingHello.decode(Array(text.utf8)) }
    }
}

@Suite struct DynsecCommandsTests {
    @Test func aPanelAccountIsOneRoleWithLiteralTopicsAndOneClient() {
        let c = DynsecCommands.createDevice(id: "p1", password: "secret", prefix: "fc/v1", text: "hq/1")
        #expect(c.map { $0["command"]?.string } == ["deleteClient", "deleteRole", "createRole", "createClient"])
        let acls = c[2]["acls"]?.array ?? []
        #expect(acls.map { "\($0["acltype"]!.string!) \($0["topic"]!.string!)" } == [
            "publishClientSend fc/v1/dev/p1/up/#", "subscribePattern fc/v1/dev/p1/down/#",
            "publishClientReceive fc/v1/dev/p1/down/#",
        ])
        #expect(c[3]["clientid"] == "p1")
        #expect(c[3]["roles"]?[0]?["rolename"] == "fc-dev-p1")
    }

    @Test func defaultDenySendsAllowFalseNotAccess() {
        let acls = DynsecCommands.defaultDeny()["acls"]?.array ?? []
        #expect(acls.count == 4)
        #expect(acls.allSatisfy { $0["access"] == nil && $0["allow"]?.bool != nil })
        #expect(acls.first { $0["acltype"] == "subscribe" }?["allow"] == false)
    }
}
