import FleetJSON

/// Downlinks for the Milesight DS3604 e-ink display, from its layout table (sensors.md §1.2):
/// a content block is `FB 01 <id> <len> <utf8>`, where `id` holds the template (bits 7-6,
/// 0 = template 1) and the block (bits 5-0: 0-9 `text_1`…`text_10`, 10 `qrcode`).
public enum DS3604Downlink {
    /// The application port Milesight devices take downlinks on.
    public static let fPort = 85
    /// The smallest LoRaWAN payload a downlink can count on (EU868 DR0/DR1): the room frame
    /// must fit it whatever the data rate.
    public static let maxFrameBytes = 51

    /// One content block.
    public enum Block: Equatable, Sendable {
        /// `text_1` … `text_10`.
        case text(Int)
        case qrcode

        var number: UInt8? {
            switch self {
            case .text(let n): (1...10).contains(n) ? UInt8(n - 1) : nil
            case .qrcode: 10
            }
        }
    }

    /// `FB 01` frames for the given blocks of template 1 or 2, in order.
    ///
    /// - Throws: ``DecodeError`` `.invalidField` for a template other than 1-2, a block outside
    ///   `text_1`…`text_10`/`qrcode`, or text over 255 UTF-8 bytes.
    public static func content(template: Int = 1, _ blocks: [(Block, String)]) throws(DecodeError) -> [UInt8] {
        guard (1...2).contains(template) else {
            throw DecodeError(.invalidField, field: "template", reason: "template \(template) is not 1 or 2")
        }
        var bytes: [UInt8] = []
        for (block, text) in blocks {
            guard let number = block.number else {
                throw DecodeError(.invalidField, field: "block", reason: "\(block) is not text_1…text_10 or qrcode")
            }
            let utf8 = Array(text.utf8)
            guard utf8.count <= 255 else {
                throw DecodeError(.invalidField, field: "text", reason: "\(utf8.count) bytes; a block holds at most 255")
            }
            bytes += [0xFB, 0x01, UInt8(template - 1) << 6 | number, UInt8(utf8.count)] + utf8
        }
        return bytes
    }

    /// The room frame: its name in `text_1` and the occupancy text in `text_2` of template 1,
    /// each cut (on a character boundary) so the frame fits ``maxFrameBytes``.
    public static func room(name: String, status: String) -> [UInt8] {
        let statusText = truncate(status, to: 16)
        let nameText = truncate(name, to: maxFrameBytes - 8 - statusText.utf8.count)
        // Both blocks are valid by construction (template 1, blocks 1-2, short text).
        return (try? content([(.text(1), nameText), (.text(2), statusText)])) ?? []
    }

    /// What a display says about a room.
    public static func statusText(_ state: OccupancyTracker.State) -> String {
        guard state.occupied else { return "Free" }
        guard let people = state.people, people > 0 else { return "Occupied" }
        return people == 1 ? "Occupied: 1 person" : "Occupied: \(people) people"
    }

    /// The gateway downlink message (`{devEUI, fPort, data, confirmed}`, sensors.md §1.4).
    public static func gatewayMessage(devEUI: String, payload: [UInt8], confirmed: Bool = false) -> JSON {
        [
            "devEUI": .string(devEUI), "fPort": .number(Double(fPort)), "data": .string(base64(payload)),
            "confirmed": .bool(confirmed),
        ]
    }

    /// The downlink topic for a device: `$deveui` / `$devEUI` in the configured topic are
    /// replaced by the DevEUI (lower / upper case), as the gateway's own topic templates do.
    public static func topic(_ template: String, devEUI: String) -> String {
        template.replacing("$deveui", with: devEUI.lowercased()).replacing("$devEUI", with: devEUI.uppercased())
    }

    /// Standard base64 with padding, as the gateway's `data` field takes it.
    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var word: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { word |= UInt32(byte) << (16 - 8 * offset) }
            for position in 0..<4 {
                out.append(position <= chunk.count ? alphabet[Int(word >> (18 - 6 * position) & 0x3F)] : UInt8(ascii: "="))
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func truncate(_ text: String, to limit: Int) -> String {
        var out = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            guard used + size <= max(limit, 0) else { break }
            out.append(character)
            used += size
        }
        return out
    }
}
