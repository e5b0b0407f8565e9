import Testing

@testable import SensorIngest

@Suite struct ByteReaderTests {
    @Test func readsLittleEndianByDefaultAndBigEndianOnRequest() throws {
        var reader = ByteReader([0xEE, 0x00, 0xF6, 0xFF, 0x12, 0x34, 0x78, 0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(try reader.u16() == 0x00EE)
        #expect(try reader.i16() == -10)  // 0xFFF6 → −1.0 °C on Milesight
        #expect(try reader.u16(.big) == 0x1234)
        #expect(try reader.u32() == 0x1234_5678)
        #expect(try reader.i32() == -1)
        #expect(reader.isAtEnd)
    }

    @Test func signedAndUnsignedBytes() throws {
        var reader = ByteReader([0x80, 0x80, 0x7F])
        #expect(try reader.u8() == 0x80)
        #expect(try reader.i8() == -128)
        #expect(try reader.i8() == 127)
    }

    @Test func bigEndianThirtyTwoBits() throws {
        var reader = ByteReader([0x12, 0x34, 0x56, 0x78])
        #expect(try reader.u32(.big) == 0x1234_5678)
    }

    @Test func bytesAndSkip() throws {
        var reader = ByteReader([1, 2, 3, 4, 5])
        try reader.skip(1)
        #expect(try reader.bytes(3) == [2, 3, 4])
        #expect(reader.offset == 4)
        #expect(reader.remaining == 1)
    }

    @Test(arguments: [1, 2, 4])
    func eachWidthThrowsWhenOneByteShort(width: Int) {
        var reader = ByteReader(Array(repeating: 0xAA, count: width - 1))
        let error = #expect(throws: DecodeError.self) {
            switch width {
            case 1: _ = try reader.u8()
            case 2: _ = try reader.i16(.big)
            default: _ = try reader.i32()
            }
        }
        #expect(error?.code == .truncated)
        #expect(error?.offset == 0)
        #expect(error?.reason == "needs \(width) byte\(width == 1 ? "" : "s"), \(width - 1) left")
        #expect(reader.offset == 0)
    }

    @Test func truncatedReadReportsWhereItStarted() {
        var reader = ByteReader([0x01, 0x02, 0x03])
        _ = try? reader.u8()
        let error = #expect(throws: DecodeError.self) { try reader.u32() }
        #expect(error?.offset == 1)
        #expect(error?.reason == "needs 4 bytes, 2 left")
        #expect(reader.offset == 1)
    }

    @Test func hostileCountsNeverTrap() {
        var reader = ByteReader([])
        #expect(throws: DecodeError.self) { try reader.bytes(-1) }
        #expect(throws: DecodeError.self) { try reader.bytes(Int.max) }
        #expect(throws: DecodeError.self) { try reader.skip(1) }
        #expect(throws: DecodeError.self) { try reader.i8() }
    }
}
