/// Parses RFC 3339 timestamps into Unix seconds without Foundation.
///
/// Accepts what network servers send: `2022-12-27T07:21:27.078763Z`, nanosecond fractions,
/// `+01:00` offsets, lowercase `t`/`z`, a space instead of `T` (RFC 3339 §5.6 note) and the
/// colon-less `+0000` some devices write (sensors.md §4.4). Rejects impossible dates such as
/// Irisys' own example `2019-02-91`: a wrong time silently misfiles a reading.
enum RFC3339 {
    /// - Throws: ``DecodeError`` `.timestamp` with the character offset of the problem.
    static func parse(_ text: String) throws(DecodeError) -> Double {
        var scanner = Scanner(Array(text.utf8))
        let year = try scanner.digits(4, "year")
        try scanner.expect("-")
        let month = try scanner.digits(2, "month")
        try scanner.expect("-")
        let day = try scanner.digits(2, "day")
        guard (1...12).contains(month) else { throw scanner.failure(at: 5, "month \(month) out of range") }
        guard (1...daysIn(month: month, year: year)).contains(day) else {
            throw scanner.failure(at: 8, "day \(day) out of range for \(year)-\(month)")
        }
        try scanner.expect(oneOf: "Tt ", "'T'")
        let hour = try scanner.digits(2, "hour")
        try scanner.expect(":")
        let minute = try scanner.digits(2, "minute")
        try scanner.expect(":")
        let second = try scanner.digits(2, "second")
        // 60 is a leap second; Unix time has none, so it reads as the next minute's first second.
        guard hour < 24, minute < 60, second <= 60 else {
            throw scanner.failure(at: 11, "time \(hour):\(minute):\(second) out of range")
        }
        var fraction = 0.0
        if scanner.peek == UInt8(ascii: ".") {
            scanner.advance()
            var nanos = 0
            var count = 0
            while let digit = scanner.digit() {
                if count < 9 { nanos = nanos * 10 + digit }
                count += 1
            }
            guard count > 0 else { throw scanner.failure("expected fraction digits") }
            for _ in 0..<max(0, 9 - count) { nanos *= 10 }
            fraction = Double(nanos) / 1e9
        }
        let offset = try scanner.zone()
        guard scanner.isAtEnd else { throw scanner.failure("unexpected text after the time zone") }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset
        return Double(seconds) + fraction
    }

    /// Days from 1970-01-01 in the proleptic Gregorian calendar (era arithmetic: 400-year cycles
    /// of 146,097 days, years counted from March so the leap day ends the year).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var isAtEnd: Bool { index >= bytes.count }
        var peek: UInt8? { isAtEnd ? nil : bytes[index] }

        mutating func advance() { index += 1 }

        mutating func digit() -> Int? {
            guard let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            index += 1
            return Int(byte - UInt8(ascii: "0"))
        }

        mutating func digits(_ count: Int, _ what: String) throws(DecodeError) -> Int {
            var value = 0
            for _ in 0..<count {
                guard let digit = digit() else { throw failure("expected \(count) digits of \(what)") }
                value = value * 10 + digit
            }
            return value
        }

        mutating func expect(_ character: Unicode.Scalar) throws(DecodeError) {
            try expect(oneOf: String(character), "'\(character)'")
        }

        mutating func expect(oneOf characters: String, _ what: String) throws(DecodeError) {
            guard let byte = peek, characters.utf8.contains(byte) else { throw failure("expected \(what)") }
            index += 1
        }

        /// The zone offset in seconds east of UTC.
        mutating func zone() throws(DecodeError) -> Int {
            guard let byte = peek else { throw failure("expected a time zone ('Z' or ±hh:mm)") }
            if byte == UInt8(ascii: "Z") || byte == UInt8(ascii: "z") {
                index += 1
                return 0
            }
            guard byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") else {
                throw failure("expected a time zone ('Z' or ±hh:mm)")
            }
            let sign = byte == UInt8(ascii: "-") ? -1 : 1
            let start = index
            index += 1
            let hours = try digits(2, "zone hours")
            if peek == UInt8(ascii: ":") { index += 1 }
            let minutes = try digits(2, "zone minutes")
            guard hours < 24, minutes < 60 else { throw failure(at: start, "zone offset out of range") }
            return sign * (hours * 3_600 + minutes * 60)
        }

        func failure(_ reason: String) -> DecodeError { failure(at: index, reason) }

        func failure(at offset: Int, _ reason: String) -> DecodeError {
            DecodeError(.timestamp, offset: offset, reason: "not an RFC 3339 time: \(reason)")
        }
    }
}
