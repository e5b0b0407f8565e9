/// The code a panel shows and an installer types: 8 characters from RFC 8628's base-20 set (no
/// vowels, so no words; no look-alikes), about 34.5 bits, shown as `XXXX-XXXX`. With 5 attempts per
/// window a random guess succeeds with probability about 2^-32 (RFC 8628 §5.1).
public enum PairingCode {
    public static let alphabet: [UInt8] = Array("BCDFGHJKLMNPQRSTVWXZ".utf8)
    public static let length = 8

    /// What the installer typed, as the panel would have shown it: upper-cased, with dashes, spaces
    /// and anything outside the alphabet dropped (RFC 8628 §6.1).
    public static func normalize(_ input: String) -> String {
        var out: [UInt8] = []
        for var b in input.utf8 {
            if b >= 0x61 && b <= 0x7a { b -= 0x20 }
            if alphabet.contains(b) { out.append(b) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `code` (already normalized) has the right length and alphabet.
    public static func isValid(_ code: String) -> Bool {
        code.utf8.count == length && code.utf8.allSatisfy { alphabet.contains($0) }
    }

    /// `WDJBMJHT` → `WDJB-MJHT`.
    public static func display(_ code: String) -> String {
        guard code.count == length else { return code }
        return "\(code.prefix(4))-\(code.suffix(4))"
    }

    /// A fresh code from random bytes, by rejection sampling so every letter is equally likely
    /// (256 is not a multiple of 20: bytes ≥ 240 are skipped). `random` must fill its buffer.
    public static func generate(random: (inout [UInt8]) -> Void) -> String {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16)
        while out.count < length {
            random(&buf)
            for b in buf where b < 240 && out.count < length { out.append(alphabet[Int(b) % 20]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
