import FleetJSON
import FleetLoop
import FleetTestSupport
import Testing

@testable import SensorIngest

private func le(_ value: Int, bytes count: Int) -> String {
    (0..<count).map { String(format: "%02X", (value >> (8 * $0)) & 0xFF) }.joined()
}

/// One VS133 line in one uplink: running totals and/or period counts (sensors.md §1.2, channel
/// base 0x03 + 3(N−1)).
struct LineFrame: CustomStringConvertible, Sendable {
    var line: Int
    var totals: (in: Int, out: Int)?
    var period: (in: Int, out: Int)?

    var description: String { "line \(line) totals \(totals.map { "\($0)" } ?? "-") period \(period.map { "\($0)" } ?? "-")" }

    var hex: String {
        let base = 0x03 + 3 * (line - 1)
        var hex = ""
        if let t = totals {
            hex += String(format: "%02XD2", base) + le(t.in, bytes: 4) + String(format: "%02XD2", base + 1) + le(t.out, bytes: 4)
        }
        if let p = period { hex += String(format: "%02XCC", base + 2) + le(p.in, bytes: 2) + le(p.out, bytes: 2) }
        return hex
    }
}

private let t0 = 1_800_000_000.0

/// A VS133 / VS135 claim lists the counting lines that feed its room: their period counts are
/// summed, each line's running totals become deltas on their own, and only VS13x claims may list.
@Suite struct CountedLinesTests {
    @Test(arguments: [
        (nil, "VS133", "nil", ""),
        ([2, 1, 2], "VS133", "[1, 2]", ""),
        ([4], "vs135", "[4]", ""),
        ([1, 2, 3, 4], "VS135", "[1, 2, 3, 4]", ""),
        ([], "VS133", "", "an empty list counts no one"),
        ([0], "VS133", "", "line 0 does not exist; a VS133 counts lines 1 to 4"),
        ([1, 5], "VS135", "", "line 5 does not exist"),
        ([1], "AM307", "", "only a VS133 or VS135 has counting lines to choose; a AM307"),
        ([1], "VS350", "", "claim it without lines"),
    ] as [([Int]?, String, String, String)])
    func claimLinesAreCheckedAgainstTheModel(lines: [Int]?, model: String, expected: String, refusal: String) {
        do {
            let valid = try CountedLines.validate(lines, model: model)
            #expect(refusal.isEmpty, "accepted \(String(describing: lines)) for \(model)")
            #expect(valid.map { "\($0)" } ?? "nil" == expected)
        } catch {
            #expect(!refusal.isEmpty, "refused: \(error)")
            #expect(error.field == "lines")
            #expect(error.reason.contains(refusal), "\(error.reason)")
        }
    }

    @Test(arguments: [
        ("line 1 alone is the decoder's reading", [1], [LineFrame(line: 1, period: (3, 1)), LineFrame(line: 2, period: (5, 5))],
         [3, 1]),
        ("two doors are summed", [1, 2], [LineFrame(line: 1, period: (3, 1)), LineFrame(line: 2, period: (5, 2))], [8, 3]),
        ("an unlisted line stays a field", [2, 4], [
            LineFrame(line: 1, period: (3, 1)), LineFrame(line: 2, period: (5, 2)), LineFrame(line: 4, period: (1, 1)),
        ], [6, 3]),
        ("a listed line without a frame adds nothing", [1, 3], [LineFrame(line: 1, period: (2, 0))], [2, 0]),
        ("no listed line reported", [2], [LineFrame(line: 1, period: (2, 0))], []),
    ] as [(String, [Int], [LineFrame], [Double])])
    func periodCountsOfTheListedLinesAreSummed(name: String, lines: [Int], frames: [LineFrame], expected: [Double]) throws {
        let decoder = try DecoderRegistry.standard.decoder(vendor: "milesight", model: "VS133")
        let decoded = try decoder.decode(fPort: 85, payload: bytes(frames.map(\.hex).joined()))
        let selected = CountedLines.select(decoded, lines: lines)
        let got = selected.measurements.filter { $0.kind == .peopleIn || $0.kind == .peopleOut }
        #expect(got.map(\.value) == expected, "\(name)")
        #expect(got.map(\.kind) == (expected.isEmpty ? [] : [.peopleIn, .peopleOut]), "\(name)")
        #expect(selected.fields == decoded.fields, "vendor fields stay as decoded")
        #expect(selected.measurements.count - got.count == decoded.measurements.filter {
            $0.kind != .peopleIn && $0.kind != .peopleOut
        }.count)
    }

    @Test func historyRecordsOfListedLinesKeepTheirTime() throws {
        let decoder = try DecoderRegistry.standard.decoder(vendor: "milesight", model: "VS135")
        // History: line 1 period (type 05) and line 2 period (type 08) at the same time, line 3 later.
        let at = 1_700_000_000
        let hex = "20CE" + le(at, bytes: 4) + "05" + le(2, bytes: 2) + le(1, bytes: 2)
            + "20CE" + le(at, bytes: 4) + "08" + le(4, bytes: 2) + le(0, bytes: 2)
            + "20CE" + le(at + 60, bytes: 4) + "0B" + le(7, bytes: 2) + le(7, bytes: 2)
        let decoded = try decoder.decode(fPort: 85, payload: bytes(hex))
        let selected = CountedLines.select(decoded, lines: [1, 2])
        let got = selected.measurements.filter { $0.kind == .peopleIn || $0.kind == .peopleOut }
        #expect(got == [
            Measurement(kind: .peopleIn, value: 6, unit: ReadingUnit.people, timestamp: Double(at)),
            Measurement(kind: .peopleOut, value: 1, unit: ReadingUnit.people, timestamp: Double(at)),
        ])
    }

    /// Each listed line's totals are a baseline of their own; the uplink's deltas are the sum.
    @Test(arguments: [
        ("both lines' totals become deltas", [1, 2], [
            [LineFrame(line: 1, totals: (100, 90)), LineFrame(line: 2, totals: (500, 480))],
            [LineFrame(line: 1, totals: (103, 91), period: (3, 1)), LineFrame(line: 2, totals: (502, 484), period: (2, 4))],
        ], [[], [5, 5]]),
        ("a new line's first total is a baseline; its period counts stand beside the other's delta", [1, 2], [
            [LineFrame(line: 1, totals: (100, 90))],
            [LineFrame(line: 1, totals: (104, 90)), LineFrame(line: 2, totals: (7000, 6000), period: (2, 1))],
            [LineFrame(line: 1, totals: (105, 92)), LineFrame(line: 2, totals: (7003, 6000))],
        ], [[], [6, 1], [4, 2]]),
        ("one line restarted, the other wrapped", [1, 3], [
            [LineFrame(line: 1, totals: (5000, 4000)), LineFrame(line: 3, totals: (4_294_967_290, 10))],
            [LineFrame(line: 1, totals: (2, 1)), LineFrame(line: 3, totals: (4, 12))],
        ], [[], [12, 3]]),
        ("period counts between totals count at once, per line", [1, 2], [
            [LineFrame(line: 1, totals: (100, 90)), LineFrame(line: 2, totals: (10, 10))],
            [LineFrame(line: 1, period: (1, 0)), LineFrame(line: 2, period: (2, 1))],
            [LineFrame(line: 1, totals: (101, 91)), LineFrame(line: 2, totals: (15, 11))],
        ], [[], [3, 1], [3, 1]]),
        ("an unlisted line's totals count no one", [2], [
            [LineFrame(line: 1, totals: (100, 90)), LineFrame(line: 2, totals: (10, 10))],
            [LineFrame(line: 1, totals: (150, 90)), LineFrame(line: 2, totals: (11, 10))],
        ], [[], [1, 0]]),
    ] as [(String, [Int], [[LineFrame]], [[Double]])])
    func totalsOfEveryListedLine(name: String, lines: [Int], uplinks: [[LineFrame]], expected: [[Double]]) throws {
        let decoder = try DecoderRegistry.standard.decoder(vendor: "milesight", model: "VS133")
        var totals = CounterTotals()
        for (index, (frames, want)) in zip(uplinks, expected).enumerated() {
            let decoded = try decoder.decode(fPort: 85, payload: bytes(frames.map(\.hex).joined()))
            let counted = totals.apply(decoded, sensor: "S", model: "VS133", lines: lines, at: t0 + 600 * Double(index))
            let sums = [ReadingKind.peopleIn, .peopleOut].map { kind in
                counted.measurements.filter { $0.kind == kind }.map(\.value)
            }
            let got = sums.allSatisfy(\.isEmpty) ? [] : sums.map { $0.reduce(0, +) }
            #expect(got == want, "\(name): uplink \(index) \(frames)")
            #expect(sums.allSatisfy { $0.count <= 1 }, "one reading per kind and uplink")
        }
        #expect(Set(totals.unsaved.map(\.line)) == Set(lines.map { "line_\($0)" }))
    }

    /// Through the façade: a claim's lines are stored with it, and the room counts both doors.
    @Test func claimedLinesSurviveARestartAndFeedOccupancy() throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(unixTime: t0 + 3600)
        let counter = "24E124000000B133"
        func open() throws -> SensorIngest {
            let ingest = SensorIngest(
                store: try TelemetryStore(path: directory.path + "/telemetry.sqlite"), clock: clock,
                logger: CapturedLogs().logger, dayOf: { OccupancyTracker.utcDay($0) })
            ingest.loadStoredClaims()
            return ingest
        }
        func send(_ ingest: SensorIngest, _ frames: [LineFrame], fCnt: Int) {
            clock.advance(by: .seconds(60))
            let payload = bytes(frames.map(\.hex).joined())
            ingest.take([.lorawan(Uplink(devEUI: counter, fPort: 85, fCnt: fCnt, payload: payload))],
                        topic: "t", payload: [], at: clock.unixTime)
            ingest.flush()
        }
        do {
            let ingest = try open()
            #expect(throws: DecodeError.self) {
                try ingest.claim(Sensor(devEUI: counter, vendor: "milesight", model: "VS133", resource: "hq/2", lines: [5]),
                                 origin: .api)
            }
            try ingest.claim(Sensor(devEUI: counter, vendor: "milesight", model: "VS133", resource: "hq/2", lines: [2, 1]),
                             origin: .api)
            send(ingest, [LineFrame(line: 1, totals: (10, 0), period: (2, 0)), LineFrame(line: 2, totals: (20, 0), period: (3, 1))],
                 fCnt: 1)
            #expect(ingest.occupancyState(of: "hq/2").people == 4)
        }
        let ingest = try open()
        #expect(ingest.sensors.first?.lines == [1, 2])
        let listed = try ingest.sensorsJSON()["sensors"]?[0]?["lines"]
        #expect(listed == [1, 2])
        send(ingest, [LineFrame(line: 1, totals: (11, 2)), LineFrame(line: 2, totals: (22, 1))], fCnt: 2)
        #expect(ingest.occupancyState(of: "hq/2").people == 4)  // 3 more in, 3 more out since the stored totals
        let ins = try ingest.store.series(sensor: counter, kind: .peopleIn, limit: 10).map(\.value)
        let outs = try ingest.store.series(sensor: counter, kind: .peopleOut, limit: 10).map(\.value)
        #expect(ins == [3, 5])
        #expect(outs == [3, 1])

        // Line 2 dropped from the claim and listed again: its next total is a baseline, so the
        // 8 who crossed it meanwhile are not counted as entering now.
        try ingest.claim(Sensor(devEUI: counter, vendor: "milesight", model: "VS133", resource: "hq/2", lines: [1]),
                         origin: .api)
        #expect(try ingest.store.counterTotals().map(\.line) == ["line_1"])
        try ingest.claim(Sensor(devEUI: counter, vendor: "milesight", model: "VS133", resource: "hq/2", lines: [1, 2]),
                         origin: .api)
        send(ingest, [LineFrame(line: 1, totals: (12, 2)), LineFrame(line: 2, totals: (30, 1))], fCnt: 3)
        #expect(try ingest.store.series(sensor: counter, kind: .peopleIn, limit: 1).map(\.value) == [1])
        #expect(ingest.occupancyState(of: "hq/2").people == 5)
    }
}
