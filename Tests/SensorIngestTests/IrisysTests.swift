import FleetJSON
import Testing

@testable import SensorIngest

/// Irisys counts and status: every Irisys MQTT vector of `sensor_vectors.json`.
@Suite struct IrisysTests {
    static let topic = "irisys/V4D-17020025/counts"

    func parse(_ input: JSON, topic: String = topic) throws(DecodeError) -> [IngestMessage] {
        try Envelope.parse(.irisys, topic: topic, payload: Array(input.serialized().utf8))
    }

    func reports(_ messages: [IngestMessage]) -> [DeviceMessage] {
        messages.compactMap { if case .reading(let report) = $0 { report } else { nil } }
    }

    static let vectors = VectorFile.entries(vendor: "Irisys")

    @Test func theVectorFileHoldsFourMQTTVectorsAndOneHTTPLog() {
        #expect(Self.vectors.count == 5)
        // The HTTP POST count log is not an MQTT message; it is rejected with a reason, not guessed at.
        let http = Self.vectors.first { ($0["model"]?.string ?? "").contains("HTTP") }?["input"] ?? .null
        let error = #expect(throws: DecodeError.self) { try parse(http) }
        #expect(error?.reason.contains("neither a counts array nor a status object") == true)
    }

    @Test func countsVectorGivesOneReportPerRegisterAndTime() throws {
        let vector = try #require(Self.vectors.first { $0["model"]?.string == "Vector 4D - Counts topic" })
        let reports = reports(try parse(try #require(vector["input"])))
        let events = try #require(vector["expected"]?["events"]?.array)
        #expect(reports.count == events.count)
        for (report, event) in zip(reports, events) {
            #expect(report.device == "V4D-17020025")
            #expect(report.vendor == "irisys")
            #expect(report.fields["register"] == event["register"])
            #expect(report.fields["value"] == event["delta"])
            #expect(report.fields["t"] == event["t"])
            // The spec's own example date (day 91) is not a date: receive time instead of a rejection.
            #expect(report.measuredAt == nil)
            #expect(report.warnings.count == 1)
            #expect(report.dedupeKey == "V4D-17020025|\(event["register"]?.string ?? "")|\(event["t"]?.string ?? "")")
        }
        var sums: [String: Double] = [:]
        for report in reports {
            for sample in report.measurements { sums[report.fields["register"]?.string ?? "", default: 0] += sample.value }
        }
        #expect(JSON.object(JSONObject(sums.map { ($0.key, JSON.number($0.value)) })) == vector["expected"]?["sum_by_register"])
        #expect(reports.map { $0.measurements.first?.kind } == [.peopleIn, .peopleOut, .peopleIn])
    }

    @Test func emptyCountsAreAHeartbeat() throws {
        let vector = try #require(Self.vectors.first { $0["model"]?.string == "Vector 4D - Counts topic (no events)" })
        let messages = try parse(try #require(vector["input"]))
        guard case .presence(let device, let online, let at) = try #require(messages.first) else {
            Issue.record("not presence")
            return
        }
        #expect(messages.count == 1)
        #expect(device == "V4D-17020025")
        #expect(online)
        #expect(at == nil)
    }

    @Test(arguments: [("Vector 4D - Status topic (connect)", true), ("Vector 4D - Status topic (LWT)", false)])
    func statusIsPresence(model: String, online expected: Bool) throws {
        let vector = try #require(Self.vectors.first { $0["model"]?.string == model })
        #expect(vector["expected"]?["online"]?.bool == expected)
        let messages = try parse(try #require(vector["input"]), topic: "site/irisys/V4D-17020025/status")
        guard case .presence(let device, let online, _) = try #require(messages.first) else {
            Issue.record("not presence")
            return
        }
        #expect(device == "V4D-17020025")
        #expect(online == expected)
    }

    @Test func aRetainedCountRepeatsItsKeysAndSameTimeChangesAreSummed() throws {
        let counts: JSON = [
            ["register": "Enter", "value": 1, "t": "2024-06-01T08:00:00+0000"],
            ["register": "Enter", "value": 2, "t": "2024-06-01T08:00:00+0000"],
            ["register": "Line 1", "value": 4, "t": "2024-06-01T08:00:01+0000"],
        ]
        let first = reports(try parse(counts))
        let again = reports(try parse(counts))
        #expect(first.map(\.dedupeKey) == again.map(\.dedupeKey))
        #expect(first.count == 2)
        #expect(first[0].measurements == [Measurement(kind: .peopleIn, value: 3, unit: "people")])
        #expect(first[0].measuredAt == 1_717_228_800)
        #expect(first[0].warnings.isEmpty)
        // A register that names no direction stays a field.
        #expect(first[1].measurements.isEmpty)
        #expect(first[1].fields["value"] == 4)
    }

    @Test func aCountWithoutTimeIsNeverADuplicate() throws {
        let untimed = reports(try parse([["register": "Enter", "value": 1]]))
        #expect(untimed.map(\.dedupeKey) == [""])
        #expect(untimed.first?.measuredAt == nil)
    }

    @Test(arguments: [
        ("MainEntranceIn", ReadingKind.peopleIn), ("MainEntranceOut", .peopleOut), ("Enter", .peopleIn),
        ("Exit", .peopleOut), ("Line 1 Out", .peopleOut), ("door_in", .peopleIn), ("Cabin", nil), ("Line 1", nil),
        ("Dwell", nil), ("", nil),
    ] as [(String, ReadingKind?)])
    func registerDirection(name: String, kind: ReadingKind?) {
        #expect(IrisysEnvelope.direction(of: name) == kind)
    }

    @Test(arguments: [
        (#"[{"value":1}]"#, DecodeError.Code.missingField, "[0].register"),
        (#"[{"register":"In"}]"#, .missingField, "[0].value"),
        (#"[{"register":"In","value":"1"}]"#, .invalidField, "[0].value"),
        (#"[5]"#, .invalidField, "[0]"),
        (#"{"status":"sleeping"}"#, .invalidField, "status"),
    ])
    func badCountsNameTheField(json: String, code: DecodeError.Code, field: String) {
        let error = #expect(throws: DecodeError.self) {
            try Envelope.parse(.irisys, topic: Self.topic, payload: Array(json.utf8))
        }
        #expect(error?.code == code)
        #expect(error?.field == field)
    }

    @Test func aTopicWithoutACounterIdIsRejected() {
        let error = #expect(throws: DecodeError.self) { try parse([], topic: "counts") }
        #expect(error?.field == "topic")
    }

    @Test func binaryTargetsAreNotJSON() {
        let error = #expect(throws: DecodeError.self) {
            try Envelope.parse(.irisys, topic: "irisys/V4D/targets", payload: [1, 0, 0, 0, 0, 0, 0, 0, 0])
        }
        #expect(error?.code == .malformedJSON)
    }
}
