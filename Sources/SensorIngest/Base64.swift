/// A strict RFC 4648 §4 base64 decoder (standard alphabet).
///
/// Strict because a payload is evidence: text that only a lenient decoder accepts (stray
/// characters, missing or misplaced padding, non-zero bits in the last character) points at a
/// broken or hostile sender, and belongs in the dead-letter table rather than in the readings.
enum Base64 {
    /// Decodes `text`.
    ///
    /// - Parameter requirePadding: whether the length must be a multiple of 4 with `=` padding
    ///   (envelopes); off for text a person typed.
    /// - Throws: ``DecodeError`` `.base64` with the character offset of the problem.
    static func decode(_ text: String, requirePadding: Bool = true) throws(DecodeError) -> [UInt8] {
        var input = Array(text.utf8)
        if !requirePadding, input.count % 4 != 0, !input.contains(ASCII.equals) {
            input += Array(repeating: ASCII.equals, count: (4 - input.count % 4) % 4)
        }
        guard input.count % 4 == 0 else {
            throw failure(at: input.count, "length \(input.count) is not a multiple of 4")
        }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var quad = 0
        while quad < input.count {
            let isLast = quad + 4 == input.count
            var sextets: [UInt32] = []
            for index in quad..<quad + 4 {
                let byte = input[index]
                if let value = sextet(byte) {
                    guard sextets.count == index - quad else { throw failure(at: index, "data after '='") }
                    sextets.append(UInt32(value))
                } else if byte == ASCII.equals, isLast, index - quad >= 2 {
                    continue
                } else {
                    throw failure(at: index, byte == ASCII.equals ? "misplaced '='" : "invalid character")
                }
            }
            let bits = sextets.enumerated().reduce(UInt32(0)) { $0 | $1.element << (18 - 6 * $1.offset) }
            let produced = sextets.count - 1
            // The bits below the last full byte must be zero, or two texts would decode alike.
            guard bits & (0x00FF_FFFF >> (8 * produced)) == 0 else {
                throw failure(at: quad + sextets.count - 1, "non-zero padding bits")
            }
            for byteIndex in 0..<produced { output.append(UInt8(truncatingIfNeeded: bits >> (16 - 8 * byteIndex))) }
            quad += 4
        }
        return output
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }

    private static func failure(at offset: Int, _ reason: String) -> DecodeError {
        DecodeError(.base64, offset: offset, reason: "invalid base64: \(reason)")
    }
}

/// Hexadecimal text ↔ bytes, for the CLI and logs.
enum Hex {
    /// Decodes hex digits, ignoring whitespace and an optional `0x` prefix; nil if anything else
    /// is present or the digit count is odd.
    static func decode(_ text: String) -> [UInt8]? {
        var digits = Array(text.utf8.filter { !ASCII.isSpace($0) })
        if digits.count >= 2, digits[0] == UInt8(ascii: "0"), digits[1] | 0x20 == UInt8(ascii: "x") {
            digits.removeFirst(2)
        }
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    static func encode(_ bytes: [UInt8], uppercase: Bool = false) -> String {
        let digits = Array((uppercase ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isDigit(_ byte: UInt8) -> Bool { nibble(byte) != nil }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

enum ASCII {
    static let equals = UInt8(ascii: "=")

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
