import Testing
@testable import FleetJSON

@Suite struct JSONWriterTests {
    @Test(arguments: [
        (936.0, "936"),
        (0.0, "0"),
        (-0.0, "0"),
        (-17.0, "-17"),
        (23.8, "23.8"),
        (0.37, "0.37"),
        (1e-7, "1e-07"),
        (1e20, "1e+20"),
        (9_007_199_254_740_992.0, "9007199254740992"),
        (-9_007_199_254_740_992.0, "-9007199254740992"),
        (9_007_199_254_740_994.0, "9.007199254740994e+15"),
        (0.1 + 0.2, "0.30000000000000004"),
        (Double.nan, "null"),
        (Double.infinity, "null"),
        (-Double.infinity, "null"),
    ] as [(Double, String)])
    func numberFormatting(value: Double, expected: String) {
        #expect(JSON.number(value).serialized() == expected)
    }

    /// Every number we print must be strict JSON that reads back to the same Double.
    @Test func numbersRoundTripThroughStrictParser() throws {
        var generator = SplitMix64(seed: 0x5EED)
        var samples: [Double] = [
            .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
            1e-300, 1e300, 123456.789, 1.5e-10, 4.35, 2.2250738585072014e-308, 9_007_199_254_740_994,
        ]
        for _ in 0..<5000 {
            samples.append(Double(bitPattern: generator.next()))
            samples.append(Double(Int64(bitPattern: generator.next()) >> 20) / 1000)
        }
        for value in samples where value.isFinite {
            let text = JSON.number(value).serialized()
            let parsed = try JSON.parse(text)
            #expect(parsed.double == value, "\(value) printed as \(text)")
        }
    }

    @Test(arguments: [
        ("plain", "\"plain\""),
        ("quote \" and \\ backslash", "\"quote \\\" and \\\\ backslash\""),
        ("slash / stays", "\"slash / stays\""),
        ("line\nfeed\ttab\r\u{0}\u{1F}", "\"line\\u000afeed\\u0009tab\\u000d\\u0000\\u001f\""),
        ("del \u{7F} é € 😀", "\"del \u{7F} é € 😀\""),
    ] as [(String, String)])
    func stringEscaping(value: String, expected: String) throws {
        #expect(JSON.string(value).serialized() == expected)
        #expect(try JSON.parse(expected).string == value)
    }

    @Test func compactOutputInInsertionOrder() {
        let value: JSON = [
            "decision": "allow", "cache_age_s": 3, "user": ["id": "u1", "active": true, "badge": nil],
            "readings": [23.8, 0.37, []], "z": [:],
        ]
        let expected = #"{"decision":"allow","cache_age_s":3,"user":{"id":"u1","active":true,"badge":null},"#
            + #""readings":[23.8,0.37,[]],"z":{}}"#
        #expect(value.serialized() == expected)
        #expect(value.bytes == Array(expected.utf8))
        #expect(value.description == expected)
    }

    @Test(arguments: [
        #"{"b":1,"a":[true,false,null,"x\u00e9\ud83d\ude00",-0.5,1e+300],"c":{"d":{}}}"#,
        #"[{"temperature":23.8,"humidity":41,"co2":936,"battery":0.37}]"#,
        #""\u0000\u001f \"\\/""#,
    ])
    func documentsRoundTrip(text: String) throws {
        let parsed = try JSON.parse(text)
        let again = try JSON.parse(parsed.bytes)
        #expect(again == parsed)
        #expect(again.serialized() == parsed.serialized())
    }
}

/// Deterministic generator so failures reproduce.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
