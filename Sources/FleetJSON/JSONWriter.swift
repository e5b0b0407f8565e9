extension JSON {
    /// Compact JSON text (no whitespace), object keys in insertion order.
    ///
    /// Integral numbers within ±2^53 print without a fraction (`936`); other numbers use the
    /// shortest text that reads back to the same `Double` (`23.8`, `1e-07`); NaN and infinities
    /// become `null`, which JSON has no numbers for.
    public func serialized() -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// ``serialized()`` as UTF-8 bytes, ready to publish or send.
    public var bytes: [UInt8] {
        var writer = JSONWriter()
        writer.write(self)
        return writer.output
    }
}

/// Appends compact JSON to a byte buffer.
struct JSONWriter {
    private(set) var output: [UInt8] = []

    init() {
        output.reserveCapacity(128)
    }

    mutating func write(_ value: JSON) {
        switch value {
        case .null:
            output.append(contentsOf: "null".utf8)
        case .bool(let flag):
            output.append(contentsOf: flag ? "true".utf8 : "false".utf8)
        case .number(let number):
            write(number)
        case .string(let text):
            write(text)
        case .array(let elements):
            output.append(ASCII.openBracket)
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(ASCII.comma) }
                write(element)
            }
            output.append(ASCII.closeBracket)
        case .object(let members):
            output.append(ASCII.openBrace)
            for (position, member) in members.enumerated() {
                if position > 0 { output.append(ASCII.comma) }
                write(member.key)
                output.append(ASCII.colon)
                write(member.value)
            }
            output.append(ASCII.closeBrace)
        }
    }

    /// Doubles beyond 2^53 are not all integers a reader can trust, so only the exact range
    /// gets the integer form.
    private mutating func write(_ number: Double) {
        guard number.isFinite else {
            output.append(contentsOf: "null".utf8)
            return
        }
        if number.rounded(.towardZero) == number, number.magnitude <= 9_007_199_254_740_992 {
            writeInteger(Int64(number))
        } else {
            // Swift's description is the shortest round-trip form and already JSON-shaped
            // ("0.37", "1e-07", "1e+20", "-2.5e-308"): a leading digit, '.' only between digits.
            output.append(contentsOf: number.description.utf8)
        }
    }

    private mutating func writeInteger(_ value: Int64) {
        if value < 0 { output.append(ASCII.minus) }
        var magnitude = value.magnitude
        let start = output.count
        repeat {
            output.append(ASCII.zero + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        output[start...].reverse()
    }

    private mutating func write(_ text: String) {
        output.append(ASCII.quote)
        var text = text
        text.withUTF8 { utf8 in
            // Copy unescaped runs in one append; only '"', '\' and control characters break a run.
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte == ASCII.quote || byte == ASCII.backslash || byte < 0x20 else { continue }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                output.append(ASCII.backslash)
                if byte < 0x20 {
                    output.append(contentsOf: "u00".utf8)
                    output.append(Self.hexDigits[Int(byte >> 4)])
                    output.append(Self.hexDigits[Int(byte & 0x0F)])
                } else {
                    output.append(byte)
                }
                runStart = index + 1
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        output.append(ASCII.quote)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
