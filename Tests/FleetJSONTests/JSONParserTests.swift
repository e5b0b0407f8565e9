import Testing
@testable import FleetJSON

@Suite struct JSONParserTests {
    @Test(arguments: [
        ("null", JSON.null),
        ("true", true),
        ("false", false),
        ("0", 0),
        ("-0", 0),
        ("936", 936),
        ("-17", -17),
        ("23.8", 23.8),
        ("0.37", 0.37),
        ("1e-7", 1e-7),
        ("1E+20", 1e20),
        ("-2.5e-3", -0.0025),
        ("12345678901234567890", 12345678901234567890.0),
        ("0.1000000000000000055511151231257827", 0.1),
        ("1e-400", 0),
        ("\"\"", ""),
        ("\"plain\"", "plain"),
        ("[]", []),
        ("{}", [:]),
        (" \t\r\n[ 1 , \"a\" , null ]\n ", [1, "a", nil]),
        ("{\"a\":{\"b\":[true,{\"c\":-1.5}]}}", ["a": ["b": [true, ["c": -1.5]]]]),
        ("{\"decision\":\"allow\",\"cache_age_s\":3}", ["decision": "allow", "cache_age_s": 3]),
    ] as [(String, JSON)])
    func validDocuments(text: String, expected: JSON) throws {
        #expect(try JSON.parse(text) == expected)
        #expect(try JSON.parse(Array(text.utf8)) == expected)
    }

    @Test(arguments: [
        ("", 0, "unexpected end of input"),
        ("   ", 3, "unexpected end of input"),
        ("[1,]", 3, "expected value"),
        ("{\"a\":1,}", 7, "expected string key"),
        ("{a:1}", 1, "expected string key"),
        ("{\"a\" 1}", 5, "expected ':'"),
        ("{\"a\":1 \"b\":2}", 7, "expected ',' or '}'"),
        ("[1 2]", 3, "expected ',' or ']'"),
        ("[1,2", 4, "unexpected end of input"),
        ("{\"a\":", 5, "unexpected end of input"),
        ("1 2", 2, "unexpected data after value"),
        ("{}x", 2, "unexpected data after value"),
        ("// c\n1", 0, "expected value"),
        ("[1] /* c */", 4, "unexpected data after value"),
        ("'a'", 0, "expected value"),
        ("tru", 0, "invalid literal"),
        ("nul", 0, "invalid literal"),
        ("True", 0, "expected value"),
        ("[nulls]", 5, "expected ',' or ']'"),
        ("01", 1, "leading zero in number"),
        ("-012", 2, "leading zero in number"),
        ("+1", 0, "expected value"),
        ("-", 1, "unexpected end of input"),
        ("-a", 1, "expected digit"),
        ("1.", 2, "unexpected end of input"),
        ("1.e3", 2, "expected digit"),
        (".5", 0, "expected value"),
        ("1e", 2, "unexpected end of input"),
        ("1e+x", 3, "expected digit"),
        ("1e400", 0, "number out of range"),
        ("[-1e99999999]", 1, "number out of range"),
        ("NaN", 0, "expected value"),
        ("\"abc", 0, "unterminated string"),
        ("[\"a\",\"bc", 5, "unterminated string"),
        ("\"a\tb\"", 2, "control character in string"),
        ("\"a\nb\"", 2, "control character in string"),
        ("\"\\x\"", 1, "invalid escape"),
        ("\"ab\\", 3, "unterminated escape"),
        ("\"\\u12G4\"", 1, "invalid \\u escape"),
        ("\"\\u12\"", 1, "invalid \\u escape"),
        ("\"x\\uD800\"", 2, "lone surrogate in \\u escape"),
        ("\"\\uD800\\u0041\"", 1, "lone surrogate in \\u escape"),
        ("\"\\uDC00\"", 1, "lone surrogate in \\u escape"),
        ("\u{FEFF}1", 0, "expected value"),
    ] as [(String, Int, String)])
    func invalidDocuments(text: String, offset: Int, reason: String) {
        #expect(throws: JSONError(offset: offset, reason: reason)) { try JSON.parse(text) }
    }

    @Test(arguments: [
        ([0x22, 0x80, 0x22], 1),                    // lone continuation byte
        ([0x22, 0x61, 0xC0, 0xAF, 0x22], 2),        // overlong '/'
        ([0x22, 0xC3, 0x22], 1),                    // truncated two-byte sequence
        ([0x22, 0xE0, 0x80, 0xAF, 0x22], 1),        // overlong three-byte
        ([0x22, 0xED, 0xA0, 0x80, 0x22], 1),        // encoded surrogate U+D800
        ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1),  // above U+10FFFF
        ([0x22, 0xF0, 0x9F, 0x98, 0x22], 1),        // truncated four-byte
        ([0x22, 0xFF, 0x22], 1),
        ([0x22, 0xE2, 0x82], 1),                    // cut off by end of input
    ] as [([UInt8], Int)])
    func invalidUTF8(bytes: [UInt8], offset: Int) {
        #expect(throws: JSONError(offset: offset, reason: "invalid UTF-8 in string")) { try JSON.parse(bytes) }
    }

    @Test(arguments: [
        ("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\u{08}\u{0C}\n\r\t"),
        ("\"\\u0041\\u00e9\\u20AC\"", "Aé€"),
        ("\"\\ud83d\\ude00\"", "😀"),
        ("\"a\\u0000b\"", "a\u{0}b"),
        ("\"héllo wörld €😀\"", "héllo wörld €😀"),
        ("\"mixed \\n after ünïcode and before\\tend\"", "mixed \n after ünïcode and before\tend"),
    ] as [(String, String)])
    func stringEscapesAndUnicode(text: String, expected: String) throws {
        #expect(try JSON.parse(text).string == expected)
    }

    /// The eight-byte scan must stop at special bytes in any lane, including the last one.
    @Test func specialByteInEveryPositionOfAWord() throws {
        for position in 0..<24 {
            let prefix = String(repeating: "x", count: position)
            let suffix = String(repeating: "y", count: 17)
            #expect(try JSON.parse("\"\(prefix)\\n\(suffix)\"").string == prefix + "\n" + suffix)
            #expect(try JSON.parse("\"\(prefix)é\(suffix)\"").string == prefix + "é" + suffix)
            #expect(try JSON.parse("\"\(prefix)\"").string == prefix)
            #expect(throws: JSONError(offset: position + 1, reason: "control character in string")) {
                try JSON.parse("\"\(prefix)\u{1F}\(suffix)\"")
            }
        }
    }

    @Test func depthLimit() throws {
        let deepest = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try JSON.parse(deepest).array?.count == 1)
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONError(offset: 64, reason: "nesting deeper than 64")) { try JSON.parse(tooDeep) }
        let objects = String(repeating: "{\"k\":", count: 4) + "1" + String(repeating: "}", count: 4)
        #expect(throws: JSONError(offset: 15, reason: "nesting deeper than 3")) { try JSON.parse(objects, maxDepth: 3) }
        // Siblings do not add up: depth is about nesting, not count.
        let wide = "[" + Array(repeating: "[[]]", count: 100).joined(separator: ",") + "]"
        #expect(try JSON.parse(wide, maxDepth: 3).array?.count == 100)
    }

    @Test func duplicateKeysKeepFirstPositionWithLastValue() throws {
        let parsed = try JSON.parse("{\"a\":1,\"b\":2,\"a\":3}")
        #expect(parsed.object?.keys == ["a", "b"])
        #expect(parsed["a"] == 3)
        #expect(parsed.serialized() == "{\"a\":3,\"b\":2}")
    }

    @Test func parsesNonContiguousCollections() throws {
        let bytes = Array("{\"n\":[1,2,3]}".utf8)
        #expect(try JSON.parse(bytes.lazy.map { $0 }) == ["n": [1, 2, 3]])
        #expect(try JSON.parse(bytes[0...]) == ["n": [1, 2, 3]])
    }

    @Test func errorOffsetsCountBytesNotCharacters() {
        #expect(throws: JSONError(offset: 10, reason: "expected ',' or ']'")) { try JSON.parse("[\"ééé\" 1]") }
    }

    @Test func errorDescriptionNamesOffset() {
        let error = JSONError(offset: 7, reason: "expected ',' or '}'")
        #expect(error.description == "invalid JSON at byte 7: expected ',' or '}'")
    }
}
