import FleetJSON
import Testing

@Suite struct JSONReaderTests {
    /// Reads every element of a top-level array one by one, and every member of objects
    /// found at the top level, the way a caller walks a page.
    static func readAll(_ text: String) throws(JSONError) -> JSON {
        var reader = JSONReader(Array(text.utf8))
        let value: JSON
        switch reader.peek() {
        case .array:
            var elements: [JSON] = []
            try reader.beginArray()
            while try reader.nextElement() { elements.append(try reader.readValue()) }
            value = .array(elements)
        case .object:
            var members: [(String, JSON)] = []
            let keys = JSONKeys(["a", "b", "ключ"])
            try reader.beginObject()
            while let key = try reader.nextMember(keys) {
                let name = key == JSONKeys.unknown ? "?" : ["a", "b", "ключ"][key]
                members.append((name, try reader.readValue()))
            }
            value = .object(JSONObject(members))
        default:
            value = try reader.readValue()
        }
        try reader.end()
        return value
    }

    @Test(arguments: [
        "[]", " [ ] ", "[1, \"two\", true, false, null, -2.5e3, {\"x\": [1, {}]}]",
        "{}", "{\"a\": 1, \"b\": [true]}", "\"plain\"", "42", "{\"a\": {\"b\": {\"c\": null}}}",
        "[\"esc\\u00e9\\n\", \"\\ud83d\\ude00\"]",
    ])
    func walkingGivesWhatTheParserGives(text: String) throws {
        let walked = try Self.readAll(text)
        var expected = try JSON.parse(text)
        if case .object(let object) = expected {
            // readAll names members it does not look for "?".
            expected = .object(JSONObject(object.map { (["a", "b", "ключ"].contains($0.key) ? $0.key : "?", $0.value) }))
        }
        #expect(walked == expected)
    }

    /// Skipped parts are checked as strictly as parsed ones: the same error at the same byte.
    @Test(arguments: [
        "{\"skip\": [1, 2,], \"a\": 1}", "{\"skip\": \"\\x\", \"a\": 1}", "{\"skip\": 01}", "{\"skip\": [1 2]}",
        "{\"skip\": {\"k\" 1}}", "{\"skip\": tru}", "{\"skip\": \"\u{1}\"}", "{\"a\": 1,}", "{\"a\": 1} x",
        "{\"skip\": [", "{\"a\" 1}", "{1: 2}", "{\"skip\": \"\\ud800\"}",
    ])
    func skippedValuesAreCheckedLikeParsedOnes(text: String) {
        var parseError: JSONError?
        do { _ = try JSON.parse(text) } catch { parseError = error }
        var readError: JSONError?
        do {
            var reader = JSONReader(Array(text.utf8))
            try reader.beginObject()
            while let key = try reader.nextMember(JSONKeys(["a"])) {
                if key == 0 { _ = try reader.readValue() } else { try reader.skipValue() }
            }
            try reader.end()
        } catch {
            readError = error
        }
        #expect(parseError != nil)
        #expect(readError?.offset == parseError?.offset)
    }

    @Test func skippingHonoursTheNestingLimit() {
        let deep = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        var reader = JSONReader(Array("{\"skip\": \(deep)}".utf8), maxDepth: 5)
        #expect(throws: JSONError.self) {
            try reader.beginObject()
            _ = try reader.nextMember(JSONKeys([]))
            try reader.skipValue()
        }
    }

    @Test func keysMatchOnTheirDecodedBytes() throws {
        var reader = JSONReader(Array(#"{"k\u0065y": 1, "key2": 2, "ke": 3, "key": 4}"#.utf8))
        var seen: [Int] = []
        try reader.beginObject()
        while let key = try reader.nextMember(JSONKeys(["key", "other"])) {
            seen.append(key)
            try reader.skipValue()
        }
        #expect(seen == [0, JSONKeys.unknown, JSONKeys.unknown, 0])
    }

    /// Typed reads answer nil for another kind of value, as `json["k"]?.string` would, and move on.
    @Test(arguments: [
        (#"["s", 1, true, null, {"a": 1}, [2]]"#, ["s", nil, nil, nil, nil, nil] as [String?]),
    ])
    func typedReadsSkipOtherKinds(text: String, strings: [String?]) throws {
        var reader = JSONReader(Array(text.utf8))
        var read: [String?] = []
        try reader.beginArray()
        while try reader.nextElement() { read.append(try reader.readString()) }
        try reader.end()
        #expect(read == strings)

        var bools = JSONReader(Array("[true, false, \"true\", 0]".utf8))
        var flags: [Bool?] = []
        try bools.beginArray()
        while try bools.nextElement() { flags.append(try bools.readBool()) }
        #expect(flags == [true, false, nil, nil])

        var numbers = JSONReader(Array("[1.5, -2, \"3\"]".utf8))
        var values: [Double?] = []
        try numbers.beginArray()
        while try numbers.nextElement() { values.append(try numbers.readNumber()) }
        #expect(values == [1.5, -2, nil])
    }

    /// A caller may stop after any element and carry on later with the same reader.
    @Test func aReaderResumesWhereItStopped() throws {
        let text = "[" + (0..<10).map { "{\"a\": \($0)}" }.joined(separator: ",") + "]"
        var reader = JSONReader(Array(text.utf8))
        try reader.beginArray()
        var values: [Double] = []
        for _ in 0..<3 {
            var taken = 0
            while taken < 4, try reader.nextElement() {
                values.append(try reader.readValue()["a"]?.double ?? -1)
                taken += 1
            }
        }
        try reader.end()
        #expect(values == (0..<10).map(Double.init))
    }

    @Test func nextElementOutsideAContainerIsAnError() {
        var reader = JSONReader(Array("[1]".utf8))
        #expect(throws: JSONError.self) { _ = try reader.nextElement() }
    }
}
