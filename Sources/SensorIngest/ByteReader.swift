/// The order of a multi-byte integer's bytes.
enum ByteOrder: Sendable {
    case little, big
}

/// A cursor over a payload that never reads past its end.
///
/// Every read checks the bounds first and throws a ``DecodeError`` with code `.truncated` and the
/// offset where the read started, so a short or hostile payload becomes an error, never a trap.
struct ByteReader {
    let bytes: [UInt8]
    /// Index of the next byte to read.
    private(set) var offset: Int = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    mutating func u8() throws(DecodeError) -> UInt8 {
        try require(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func i8() throws(DecodeError) -> Int8 {
        Int8(bitPattern: try u8())
    }

    mutating func u16(_ order: ByteOrder = .little) throws(DecodeError) -> UInt16 {
        UInt16(truncatingIfNeeded: try unsigned(width: 2, order))
    }

    mutating func i16(_ order: ByteOrder = .little) throws(DecodeError) -> Int16 {
        Int16(bitPattern: try u16(order))
    }

    mutating func u32(_ order: ByteOrder = .little) throws(DecodeError) -> UInt32 {
        UInt32(truncatingIfNeeded: try unsigned(width: 4, order))
    }

    mutating func i32(_ order: ByteOrder = .little) throws(DecodeError) -> Int32 {
        Int32(bitPattern: try u32(order))
    }

    /// The next `count` bytes, as a copy.
    mutating func bytes(_ count: Int) throws(DecodeError) -> [UInt8] {
        try require(count)
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func skip(_ count: Int) throws(DecodeError) {
        try require(count)
        offset += count
    }

    private mutating func unsigned(width: Int, _ order: ByteOrder) throws(DecodeError) -> UInt64 {
        try require(width)
        var value: UInt64 = 0
        for index in 0..<width {
            let byte = UInt64(bytes[offset + index])
            switch order {
            case .little: value |= byte << (8 * index)
            case .big: value = value << 8 | byte
            }
        }
        offset += width
        return value
    }

    private func require(_ count: Int) throws(DecodeError) {
        guard count >= 0, count <= remaining else {
            throw DecodeError(
                .truncated, offset: offset,
                reason: "needs \(count) byte\(count == 1 ? "" : "s"), \(max(remaining, 0)) left")
        }
    }
}
