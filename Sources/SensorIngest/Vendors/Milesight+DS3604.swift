import FleetJSON

/// DS3604 e-ink display uplinks (sensors.md §1.2 "DS3604", the ds3604 README and decoder notes).
///
///     01 75 1    battery                uint8 %
///     FF 2E 1    button_status          0 single_click, 1 double_click, 2 short_press, 3 long_press
///     FF 73 1    current_template_id    uint8 + 1 (0 → template 1)
///     FB 01 2+n  content echo           id (bits 7-6 template 0...1, bits 5-0 block: 0-9 text_1...10,
///                                       10 qrcode), length n, n bytes UTF-8 → template_T.{text_B|qrcode}
///     FB 03 2+n  template-layout echo   id, length n, n bytes; skipped (the vendor decoder skips
///                                       2 bytes too few here and reads garbage after it)
///     FB 02 …    image data             layout not published (the vendor throws): stops with a warning
///
/// `FF 2E` means a different button enum on the WS101; that is why decoding is by model.
/// The `FA` update-result frames are not in the table: their length is not in the reference.
extension Milesight {
    static let ds3604 = MilesightModel(
        "DS3604",
        channels: attributeChannels + [
            batteryChannel,
            .init(id: 0xFF, type: 0x2E, values: [
                .init(
                    name: "button_status", encoding: .u8,
                    labels: [0: "single_click", 1: "double_click", 2: "short_press", 3: "long_press"],
                    kind: .button, unit: ReadingUnit.event)
            ]),
            MilesightChannel(id: 0xFF, type: 0x73, length: 1) { reader, output throws(DecodeError) in
                output.fields["current_template_id"] = .number(Double(try reader.u8()) + 1)
            },
            MilesightChannel(id: 0xFB, type: 0x01, length: nil) { reader, output throws(DecodeError) in
                let id = try reader.u8()
                let text = String(decoding: try reader.bytes(Int(try reader.u8())), as: UTF8.self)
                let block = Int(id & 0x3F)
                let name: String
                switch block {
                case 0...9: name = "text_\(block + 1)"
                case 10: name = "qrcode"
                default:
                    name = "block_\(block)"
                    output.warnings.append("content for block \(block), which the DS3604 does not have")
                }
                output.merge([name: .string(text)], into: "template_\(Int(id >> 6) + 1)")
            },
            MilesightChannel(id: 0xFB, type: 0x03, length: nil) { reader, _ throws(DecodeError) in
                _ = try reader.u8()
                try reader.skip(Int(try reader.u8()))
            },
            MilesightChannel(id: 0xFB, type: 0x02, length: nil) { reader, output throws(DecodeError) in
                output.stop(
                    "image data echo (FB 02): its layout is not published; stopped with "
                        + "\(reader.remaining) bytes undecoded")
            },
        ])
}
