import Testing
@testable import FleetJSON

@Suite struct JSONValueTests {
    @Test func accessorsReturnNilOnMismatch() {
        let value: JSON = ["s": "text", "n": 3, "f": 2.5, "b": true, "a": [1, 2], "o": ["k": "v"], "z": nil]
        #expect(value["s"]?.string == "text")
        #expect(value["s"]?.int == nil)
        #expect(value["n"]?.int == 3)
        #expect(value["n"]?.double == 3)
        #expect(value["f"]?.int == nil)
        #expect(value["f"]?.double == 2.5)
        #expect(value["b"]?.bool == true)
        #expect(value["b"]?.string == nil)
        #expect(value["a"]?.array == [1, 2])
        #expect(value["a"]?[1] == 2)
        #expect(value["a"]?[2] == nil)
        #expect(value["a"]?[-1] == nil)
        #expect(value["o"]?["k"] == "v")
        #expect(value["o"]?.object?.keys == ["k"])
        #expect(value["z"]?.isNull == true)
        #expect(value["s"]?.isNull == false)
        #expect(value["missing"] == nil)
        #expect(value[0] == nil)
        #expect(JSON.string("x")["k"] == nil)
    }

    @Test func intOnlyWhenIntegralAndInRange() {
        #expect(JSON.number(-42).int == -42)
        #expect(JSON.number(1e300).int == nil)
        #expect(JSON.number(9.5).int == nil)
        #expect(JSON.number(.nan).int == nil)
    }

    @Test func initializers() {
        #expect(JSON(7) == .number(7))
        #expect(JSON(2.5) == .number(2.5))
        #expect(JSON("a") == .string("a"))
        #expect(JSON(nil as String?) == .null)
    }

    @Test func objectKeepsInsertionOrderAndReplacesInPlace() {
        var object: JSONObject = ["z": 1, "a": 2, "m": 3]
        object["a"] = "two"
        object["new"] = true
        #expect(object.keys == ["z", "a", "m", "new"])
        #expect(object.values == [1, "two", 3, true])
        object["z"] = nil
        #expect(object.keys == ["a", "m", "new"])
        #expect(object.count == 3)
        #expect(object["z"] == nil)
        #expect(Array(object.map(\.key)) == ["a", "m", "new"])
        object["absent"] = nil
        #expect(object.count == 3)
    }

    /// Past the linear-search size the object switches to a hash index; it must stay consistent.
    @Test func largeObjectLookupsAndRemovals() {
        var object = JSONObject()
        for number in 0..<100 { object["k\(number)"] = JSON(number) }
        object["k5"] = "replaced"
        for number in stride(from: 0, to: 100, by: 3) { object["k\(number)"] = nil }
        #expect(object.count == 66)
        #expect(object["k5"] == "replaced")
        #expect(object["k3"] == nil)
        #expect(object["k98"] == 98)
        #expect(object.keys.first == "k1")
        for (key, value) in object where key != "k5" {
            #expect(value.int.map { "k\($0)" } == key)
        }
        while object.count > 2 { object[object.keys[0]] = nil }
        #expect(object.keys == ["k97", "k98"])
        #expect(object["k98"] == 98)
    }

    @Test func pairsInitializerAppliesDuplicateRule() {
        let object = JSONObject([("a", 1), ("b", 2), ("a", 3)])
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == 3)
        #expect(JSONObject().isEmpty)
    }

    @Test func equalityIgnoresKeyOrderButNotValues() throws {
        let parsed = try JSON.parse(#"{"b":2,"a":1}"#)
        #expect(parsed == ["a": 1, "b": 2])
        #expect(parsed != ["a": 1, "b": 3])
        #expect(parsed != ["a": 1])
        #expect(parsed != ["a": 1, "c": 2])
        #expect(JSON.array([1, 2]) != JSON.array([2, 1]))
        #expect(JSON.number(1) != JSON.string("1"))
    }
}
