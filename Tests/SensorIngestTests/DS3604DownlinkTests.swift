import FleetJSON
import Testing

@testable import SensorIngest

/// The DS3604 content encoder against the vendor encoder's vectors, and the room frame.
@Suite struct DS3604DownlinkTests {
    /// Content downlinks (`template_N` objects) of `sensor_vectors.json`; the device-setting
    /// downlinks (reboot, beep, report interval) are not something ingest sends.
    static func contentVectors() -> [(template: Int, blocks: [(String, String)], hex: String)] {
        guard let entries = try? VectorFile.entries() else { return [] }
        return entries.compactMap { entry in
            guard entry["model"]?.string == "DS3604", entry["direction"]?.string == "downlink",
                case .object(let input)? = entry["input"], let hex = entry["expected"]?["downlink_hex"]?.string,
                let (key, value) = input.first(where: { _ in true }), key.hasPrefix("template_"),
                let template = Int(key.dropFirst("template_".count)), case .object(let blocks) = value
            else { return nil }
            return (template, blocks.map { ($0.key, $0.value.string ?? "") }, hex)
        }
    }

    @Test func vendorContentVectorsAreReproduced() throws {
        let vectors = Self.contentVectors()
        #expect(vectors.count == 2)
        for vector in vectors {
            let blocks: [(DS3604Downlink.Block, String)] = vector.blocks.map { key, text in
                key == "qrcode" ? (.qrcode, text) : (.text(Int(key.dropFirst("text_".count)) ?? 0), text)
            }
            let bytes = try DS3604Downlink.content(template: vector.template, blocks)
            #expect(Hex.encode(bytes, uppercase: true).lowercased() == vector.hex)
        }
    }

    @Test(arguments: [
        (3, DS3604Downlink.Block.text(1), "template"),
        (1, .text(11), "block"),
        (1, .text(0), "block"),
    ])
    func invalidContentIsRefused(template: Int, block: DS3604Downlink.Block, field: String) {
        #expect { try DS3604Downlink.content(template: template, [(block, "x")]) } throws: {
            ($0 as? DecodeError)?.field == field
        }
    }

    @Test(arguments: [
        (OccupancyTracker.State(people: nil, occupied: false), "Free"),
        (.init(people: 0, occupied: true), "Occupied"),
        (.init(people: 1, occupied: true), "Occupied: 1 person"),
        (.init(people: 12, occupied: true), "Occupied: 12 people"),
    ])
    func statusText(state: OccupancyTracker.State, text: String) {
        #expect(DS3604Downlink.statusText(state) == text)
    }

    @Test func roomFrameFitsTheSmallestDownlink() {
        let frame = DS3604Downlink.room(name: "Großer Konferenzraum Nord — Ebene 3 (Ostflügel)", status: "Occupied: 12 people")
        #expect(frame.count <= DS3604Downlink.maxFrameBytes)
        #expect(Array(frame.prefix(3)) == [0xFB, 0x01, 0x00])
        // Cut on a character boundary: the name block is valid UTF-8.
        let nameLength = Int(frame[3])
        #expect(String(validating: frame[4..<4 + nameLength], as: UTF8.self) != nil)
        let short = DS3604Downlink.room(name: "3.14", status: "Free")
        #expect(Hex.encode(short, uppercase: true) == "FB010004332E3134FB01010446726565")
    }

    @Test func gatewayMessageAndTopic() {
        let message = DS3604Downlink.gatewayMessage(devEUI: "24E124406F079198", payload: [0xFF, 0x10, 0xFF])
        #expect(message == ["devEUI": "24E124406F079198", "fPort": 85, "data": "/xD/", "confirmed": false])
        #expect(DS3604Downlink.topic("ug65/downlink/$deveui", devEUI: "24E124406F079198") == "ug65/downlink/24e124406f079198")
        #expect(DS3604Downlink.topic("gw/$devEUI/down", devEUI: "24e124406f079198") == "gw/24E124406F079198/down")
    }
}
