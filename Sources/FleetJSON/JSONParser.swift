/// Recursive-descent RFC 8259 parser over a UTF-8 buffer.
///
/// Works on bytes throughout: plain runs inside strings are found eight bytes at a time and turned
/// into a `String` in one call; only strings with escapes go through a reused scratch buffer.
struct JSONParser {
    private let input: UnsafeBufferPointer<UInt8>
    private let maxDepth: Int
    /// Where the next byte is read; `JSONReader` resumes a parser from here.
    var offset = 0
    var depth = 0
    /// Reused for strings with escapes, so decoding them does not allocate per string.
    private var scratch: [UInt8] = []

    init(input: UnsafeBufferPointer<UInt8>, maxDepth: Int, offset: Int = 0, depth: Int = 0) {
        self.input = input
        self.maxDepth = maxDepth
        self.offset = offset
        self.depth = depth
    }

    /// Parses a whole document: one value, optional whitespace around it, nothing else.
    ///
    /// Returns a `Result` because `withContiguousStorageIfAvailable` only rethrows untyped errors.
    static func parseDocument(_ input: UnsafeBufferPointer<UInt8>, maxDepth: Int) -> Result<JSON, JSONError> {
        var parser = JSONParser(input: input, maxDepth: maxDepth)
        do throws(JSONError) {
            parser.skipWhitespace()
            let value = try parser.parseValue()
            parser.skipWhitespace()
            if parser.offset < input.count {
                throw JSONError(offset: parser.offset, reason: "unexpected data after value")
            }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }

    // MARK: - Structure

    mutating func parseValue() throws(JSONError) -> JSON {
        guard offset < input.count else { throw endOfInput() }
        switch input[offset] {
        case ASCII.openBrace: return try parseObject()
        case ASCII.openBracket: return try parseArray()
        case ASCII.quote: return .string(try parseString())
        case ASCII.t: try parseLiteral("true"); return .bool(true)
        case ASCII.f: try parseLiteral("false"); return .bool(false)
        case ASCII.n: try parseLiteral("null"); return .null
        case ASCII.minus, ASCII.zero...ASCII.nine: return .number(try parseNumber())
        default: throw JSONError(offset: offset, reason: "expected value")
        }
    }

    private mutating func parseArray() throws(JSONError) -> JSON {
        var elements: [JSON] = []
        if try openContainer(closedBy: ASCII.closeBracket) { return .array(elements) }
        while true {
            elements.append(try parseValue())
            guard try another(closedBy: ASCII.closeBracket, "expected ',' or ']'") else { return .array(elements) }
        }
    }

    private mutating func parseObject() throws(JSONError) -> JSON {
        var members = JSONObject()
        if try openContainer(closedBy: ASCII.closeBrace) { return .object(members) }
        while true {
            guard offset < input.count else { throw endOfInput() }
            guard input[offset] == ASCII.quote else {
                throw JSONError(offset: offset, reason: "expected string key")
            }
            let key = try parseString()
            skipWhitespace()
            guard offset < input.count else { throw endOfInput() }
            guard input[offset] == ASCII.colon else { throw JSONError(offset: offset, reason: "expected ':'") }
            offset += 1
            skipWhitespace()
            members.set(key, try parseValue())
            guard try another(closedBy: ASCII.closeBrace, "expected ',' or '}'") else { return .object(members) }
        }
    }

    /// After a container's element: true at ',' (another element follows), false at the closing
    /// byte (the container is done), an error naming `expected` otherwise.
    mutating func another(closedBy close: UInt8, _ expected: String) throws(JSONError) -> Bool {
        skipWhitespace()
        guard offset < input.count else { throw endOfInput() }
        switch input[offset] {
        case ASCII.comma:
            offset += 1
            skipWhitespace()
            return true
        case close:
            offset += 1
            depth -= 1
            return false
        default:
            throw JSONError(offset: offset, reason: expected)
        }
    }

    mutating func enterContainer() throws(JSONError) {
        depth += 1
        if depth > maxDepth { throw JSONError(offset: offset, reason: "nesting deeper than \(maxDepth)") }
    }

    /// Steps into the array or object whose opening byte is at `offset`; true when it is empty
    /// (then it is also closed again and `offset` is past it).
    mutating func openContainer(closedBy close: UInt8) throws(JSONError) -> Bool {
        try enterContainer()
        offset += 1
        skipWhitespace()
        guard offset < input.count, input[offset] == close else { return false }
        offset += 1
        depth -= 1
        return true
    }

    mutating func parseLiteral(_ word: StaticString) throws(JSONError) {
        let count = word.utf8CodeUnitCount
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
        guard offset + count <= input.count,
              expected.elementsEqual(UnsafeBufferPointer(rebasing: input[offset..<offset + count]))
        else { throw JSONError(offset: offset, reason: "invalid literal") }
        offset += count
    }

    mutating func skipWhitespace() {
        while offset < input.count {
            switch input[offset] {
            case ASCII.space, ASCII.tab, ASCII.lineFeed, ASCII.carriageReturn: offset += 1
            default: return
            }
        }
    }

    func endOfInput() -> JSONError {
        JSONError(offset: input.count, reason: "unexpected end of input")
    }

    // MARK: - Strings

    mutating func parseString() throws(JSONError) -> String {
        let (run, escaped) = try scanString()
        if !escaped { return String(decoding: run, as: UTF8.self) }
        return String(decoding: scratch, as: UTF8.self)
    }

    /// Checks the string at `offset` and moves past it without making a `String`: the bytes
    /// between the quotes when it has no escapes, else `escaped` and the decoded bytes in `scratch`.
    mutating func scanString() throws(JSONError) -> (run: UnsafeBufferPointer<UInt8>, escaped: Bool) {
        let quote = offset
        var index = offset + 1
        var runStart = index
        var escaped = false
        while true {
            index = skipPlainASCII(from: index)
            guard index < input.count else { throw JSONError(offset: quote, reason: "unterminated string") }
            let byte = input[index]
            if byte == ASCII.quote { break }
            if byte == ASCII.backslash {
                if !escaped {
                    scratch.removeAll(keepingCapacity: true)
                    escaped = true
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<index]))
                index = try decodeEscape(at: index)
                runStart = index
            } else if byte < 0x20 {
                throw JSONError(offset: index, reason: "control character in string")
            } else {
                index += try validateUTF8Sequence(at: index)
            }
        }
        offset = index + 1
        let run = UnsafeBufferPointer(rebasing: input[runStart..<index])
        if !escaped { return (run, false) }
        scratch.append(contentsOf: run)
        return (UnsafeBufferPointer(start: nil, count: 0), true)
    }

    /// The decoded bytes of the string `scanString` just passed, wherever they are.
    func withScanned<R>(_ scanned: (run: UnsafeBufferPointer<UInt8>, escaped: Bool), _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        scanned.escaped ? scratch.withUnsafeBufferPointer(body) : body(scanned.run)
    }

    /// Moves past one value, checking it as strictly as `parseValue` but building nothing.
    mutating func skipValue() throws(JSONError) {
        guard offset < input.count else { throw endOfInput() }
        switch input[offset] {
        case ASCII.openBrace:
            if try openContainer(closedBy: ASCII.closeBrace) { return }
            while true {
                guard offset < input.count else { throw endOfInput() }
                guard input[offset] == ASCII.quote else { throw JSONError(offset: offset, reason: "expected string key") }
                _ = try scanString()
                skipWhitespace()
                guard offset < input.count else { throw endOfInput() }
                guard input[offset] == ASCII.colon else { throw JSONError(offset: offset, reason: "expected ':'") }
                offset += 1
                skipWhitespace()
                try skipValue()
                guard try another(closedBy: ASCII.closeBrace, "expected ',' or '}'") else { return }
            }
        case ASCII.openBracket:
            if try openContainer(closedBy: ASCII.closeBracket) { return }
            while true {
                try skipValue()
                guard try another(closedBy: ASCII.closeBracket, "expected ',' or ']'") else { return }
            }
        case ASCII.quote: _ = try scanString()
        case ASCII.t: try parseLiteral("true")
        case ASCII.f: try parseLiteral("false")
        case ASCII.n: try parseLiteral("null")
        case ASCII.minus, ASCII.zero...ASCII.nine: _ = try parseNumber()
        default: throw JSONError(offset: offset, reason: "expected value")
        }
    }

    /// The byte at `offset`, or nil at the end.
    var current: UInt8? { offset < input.count ? input[offset] : nil }
    var inputCount: Int { input.count }

    /// Index of the first byte at or after `start` that is `"`, `\`, a control character or
    /// non-ASCII (or the end). Checks eight bytes per step with SWAR bit tricks; a word that
    /// might hold such a byte is finished byte by byte.
    private func skipPlainASCII(from start: Int) -> Int {
        var index = start
        if let base = input.baseAddress {
            let raw = UnsafeRawPointer(base)
            while index + 8 <= input.count {
                if Self.mayNeedAttention(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) { break }
                index += 8
            }
        }
        while index < input.count {
            let byte = input[index]
            if byte == ASCII.quote || byte == ASCII.backslash || byte < 0x20 || byte >= 0x80 { break }
            index += 1
        }
        return index
    }

    /// True if some byte of `word` is below 0x20, at or above 0x80, `"` or `\`. May report a
    /// false positive only above a byte that truly matches, so callers can rescan byte-wise.
    private static func mayNeedAttention(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        // (x - n per byte) & ~x & 0x80 per byte is nonzero iff some byte of x is below n (n ≤ 0x80).
        let below20 = (word &- ones &* 0x20) & ~word & highs
        let quoteBytes = word ^ (ones &* UInt64(ASCII.quote))
        let backslashBytes = word ^ (ones &* UInt64(ASCII.backslash))
        let hasQuote = (quoteBytes &- ones) & ~quoteBytes & highs
        let hasBackslash = (backslashBytes &- ones) & ~backslashBytes & highs
        return (word & highs) | below20 | hasQuote | hasBackslash != 0
    }

    /// Decodes the escape whose backslash is at `index` into `scratch`; returns the next index.
    private mutating func decodeEscape(at index: Int) throws(JSONError) -> Int {
        guard index + 1 < input.count else { throw JSONError(offset: index, reason: "unterminated escape") }
        let simple: UInt8
        switch input[index + 1] {
        case ASCII.quote: simple = ASCII.quote
        case ASCII.backslash: simple = ASCII.backslash
        case ASCII.slash: simple = ASCII.slash
        case ASCII.b: simple = 0x08
        case ASCII.f: simple = 0x0C
        case ASCII.n: simple = ASCII.lineFeed
        case ASCII.r: simple = ASCII.carriageReturn
        case ASCII.t: simple = ASCII.tab
        case ASCII.u: return try decodeUnicodeEscape(at: index)
        default: throw JSONError(offset: index, reason: "invalid escape")
        }
        scratch.append(simple)
        return index + 2
    }

    /// `\uXXXX`, joining a high surrogate with the `\uXXXX` low surrogate that must follow it.
    private mutating func decodeUnicodeEscape(at index: Int) throws(JSONError) -> Int {
        guard let unit = hex4(at: index + 2) else { throw JSONError(offset: index, reason: "invalid \\u escape") }
        var scalarValue = UInt32(unit)
        var next = index + 6
        switch unit {
        case 0xD800..<0xDC00:
            guard next + 1 < input.count, input[next] == ASCII.backslash, input[next + 1] == ASCII.u,
                  let low = hex4(at: next + 2), (0xDC00..<0xE000).contains(low)
            else { throw JSONError(offset: index, reason: "lone surrogate in \\u escape") }
            scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            next += 6
        case 0xDC00..<0xE000:
            throw JSONError(offset: index, reason: "lone surrogate in \\u escape")
        default:
            break
        }
        // Surrogates were excluded above, so every remaining value is a scalar.
        scratch.append(contentsOf: UTF8.encode(Unicode.Scalar(scalarValue)!)!)
        return next
    }

    private func hex4(at index: Int) -> UInt16? {
        guard index + 4 <= input.count else { return nil }
        var value: UInt16 = 0
        for position in index..<index + 4 {
            let byte = input[position]
            let digit: UInt8
            switch byte {
            case ASCII.zero...ASCII.nine: digit = byte - ASCII.zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// Length of the well-formed UTF-8 sequence starting at `index` (lead byte ≥ 0x80), per the
    /// table in RFC 3629 §4: no overlong forms, no surrogates, nothing above U+10FFFF.
    private func validateUTF8Sequence(at index: Int) throws(JSONError) -> Int {
        let lead = input[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw JSONError(offset: index, reason: "invalid UTF-8 in string")
        }
        guard index + length <= input.count, secondRange.contains(input[index + 1]) else {
            throw JSONError(offset: index, reason: "invalid UTF-8 in string")
        }
        for position in index + 2 ..< index + length where input[position] & 0xC0 != 0x80 {
            throw JSONError(offset: index, reason: "invalid UTF-8 in string")
        }
        return length
    }

    // MARK: - Numbers

    mutating func parseNumber() throws(JSONError) -> Double {
        let start = offset
        var index = offset
        let negative = input[index] == ASCII.minus
        if negative { index += 1 }
        // Digits go into `mantissa` while they fit; `exponent` is the power of ten to apply.
        var mantissa: UInt64 = 0
        var exact = true
        var exponent = 0

        guard index < input.count, isDigit(input[index]) else { throw numberError(at: index) }
        if input[index] == ASCII.zero {
            index += 1
            if index < input.count, isDigit(input[index]) {
                throw JSONError(offset: index, reason: "leading zero in number")
            }
        } else {
            while index < input.count, isDigit(input[index]) {
                accumulate(input[index], into: &mantissa, exact: &exact)
                index += 1
            }
        }
        if index < input.count, input[index] == ASCII.dot {
            index += 1
            guard index < input.count, isDigit(input[index]) else { throw numberError(at: index) }
            while index < input.count, isDigit(input[index]) {
                accumulate(input[index], into: &mantissa, exact: &exact)
                exponent -= 1
                index += 1
            }
        }
        if index < input.count, input[index] == ASCII.e || input[index] == ASCII.upperE {
            index += 1
            var exponentNegative = false
            if index < input.count, input[index] == ASCII.plus || input[index] == ASCII.minus {
                exponentNegative = input[index] == ASCII.minus
                index += 1
            }
            guard index < input.count, isDigit(input[index]) else { throw numberError(at: index) }
            var written = 0
            while index < input.count, isDigit(input[index]) {
                // Past 10^6 the value is 0 or infinite anyway; the slow path decides which.
                if written < 1_000_000 { written = written * 10 + Int(input[index] - ASCII.zero) } else { exact = false }
                index += 1
            }
            exponent += exponentNegative ? -written : written
        }
        offset = index

        // Clinger's fast path: a mantissa below 2^53 and a power of ten up to 10^22 are both
        // exact doubles, so one multiplication or division is correctly rounded.
        if exact, mantissa <= 1 << 53, (-22...22).contains(exponent) {
            var value = Double(mantissa)
            if exponent < 0 { value /= Self.powersOfTen[-exponent] } else { value *= Self.powersOfTen[exponent] }
            return negative ? -value : value
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: input[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw JSONError(offset: start, reason: "number out of range")
        }
        return value
    }

    private func accumulate(_ digit: UInt8, into mantissa: inout UInt64, exact: inout Bool) {
        guard exact else { return }
        let (times10, overflow1) = mantissa.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit - ASCII.zero))
        if overflow1 || overflow2 { exact = false } else { mantissa = sum }
    }

    private func numberError(at index: Int) -> JSONError {
        index < input.count ? JSONError(offset: index, reason: "expected digit") : endOfInput()
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte &- ASCII.zero < 10 }

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
}
