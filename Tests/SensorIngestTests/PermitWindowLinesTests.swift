import FleetJSON
import FleetLoop
import FleetStore
import FleetTestSupport
import Testing

@testable import SensorIngest

/// A claim window for VS133 / VS135 counters can carry the counting lines its claims list: they
/// are checked as a claim's are, stored with the window so a restart keeps them, and every
/// counter the window claims sums those lines into its room.
@Suite struct PermitWindowLinesTests {
    let directory = TemporaryDirectory()
    let clock = ManualClock(unixTime: 1_800_003_600)

    static let counter = "24E124000000C133"

    func open() throws -> SensorIngest { try SensorIngest.startedAsTheDaemonDoes(in: directory, clock: clock) }

    func send(_ ingest: SensorIngest, _ frames: [LineFrame], fCnt: Int) {
        clock.advance(by: .seconds(60))
        let payload = bytes(frames.map(\.hex).joined())
        ingest.take([.lorawan(Uplink(devEUI: Self.counter, fPort: 85, fCnt: fCnt, payload: payload))],
                    topic: "t", payload: [], at: clock.unixTime)
        ingest.flush()
    }

    /// (lines given, lines the window keeps, people_in of the claiming uplink)
    @Test(arguments: [
        (nil, nil, 2.0),  // line 1 alone, as a claim without lines
        ([1], [1], 2.0),
        ([2, 1], [1, 2], 5.0),
        ([3, 2, 3], [2, 3], 3.0),
    ] as [([Int]?, [Int]?, Double)])
    func aWindowClaimsWithItsLines(given: [Int]?, kept: [Int]?, peopleIn: Double) throws {
        let ingest = try open()
        let window = try ingest.openPermit(vendor: "milesight", model: "VS133", resource: "hq/2/2.30", seconds: 300,
                                           lines: given)
        #expect(window.lines == kept)
        #expect(ingest.permitJSON()["lines"] == .array((kept ?? [1]).map { .number(Double($0)) }))
        send(ingest, [
            LineFrame(line: 1, totals: (100, 90), period: (2, 0)), LineFrame(line: 2, totals: (50, 40), period: (3, 1)),
            LineFrame(line: 3, period: (0, 0)),
        ], fCnt: 1)
        #expect(ingest.claimOrigin(Self.counter) == .permit)
        #expect(ingest.sensors.first?.lines == kept)
        #expect(try ingest.store.claims().first?.sensor.lines == kept, "stored with the claim")
        #expect(try ingest.store.series(sensor: Self.counter, kind: .peopleIn, limit: 5).map(\.value) == [peopleIn])
    }

    /// (model, lines, what the refusal says)
    @Test(arguments: [
        ("VS133", [], "an empty list counts no one"),
        ("VS133", [0], "line 0 does not exist; a VS133 counts lines 1 to 4"),
        ("VS135", [1, 5], "line 5 does not exist; a VS135 counts lines 1 to 4"),
        ("AM307", [1], "only a VS133 or VS135 has counting lines to choose; a AM307 window claims without lines"),
        ("VS350", [1, 2], "open it without them"),
    ])
    func badLinesOpenNoWindow(model: String, lines: [Int], refusal: String) throws {
        let ingest = try open()
        do {
            try ingest.openPermit(vendor: "milesight", model: model, resource: "hq/2", seconds: 300, lines: lines)
            Issue.record("opened a \(model) window with lines \(lines)")
        } catch {
            #expect(error.field == "lines")
            #expect(error.reason.contains(refusal), "\(error.reason)")
        }
        #expect(ingest.permitWindow == nil)
        #expect(try ingest.store.storedPermit() == nil, "a refused window is not stored")
    }

    /// A window reopened after a restart still carries its lines, shows them, and claims with
    /// them; the counter's next uplink sums both lines' totals into deltas.
    @Test func linesSurviveARestart() throws {
        do {
            let ingest = try open()
            try ingest.openPermit(vendor: "milesight", model: "VS133", resource: "hq/2/2.30", seconds: 600, lines: [2, 1])
        }
        clock.advance(by: .seconds(120))
        let ingest = try open()
        #expect(ingest.permitWindow?.lines == [1, 2])
        #expect(ingest.permitJSON()["lines"] == [1, 2])
        send(ingest, [LineFrame(line: 1, totals: (100, 90), period: (2, 0)), LineFrame(line: 2, totals: (50, 40), period: (1, 1))],
             fCnt: 1)
        #expect(ingest.sensors.first?.lines == [1, 2])
        send(ingest, [LineFrame(line: 1, totals: (104, 91), period: (4, 1)), LineFrame(line: 2, totals: (53, 41), period: (3, 1))],
             fCnt: 2)
        #expect(try ingest.store.series(sensor: Self.counter, kind: .peopleIn, limit: 5).map(\.value) == [7, 3])
        #expect(ingest.occupancyState(of: "hq/2/2.30").people == 7)
    }

    /// A stored window whose lines cannot be claimed with (a damaged file) is closed at start
    /// rather than claiming counters with the wrong doors.
    @Test func aStoredWindowWithUnusableLinesIsClosed() throws {
        do {
            let store = try TelemetryStore(path: directory.path + "/telemetry.sqlite")
            try store.savePermit(PermitWindow(vendor: "milesight", model: "VS133", resource: "hq/2", opened: clock.unixTime,
                                              until: clock.unixTime + 300, lines: [7]))
        }
        let ingest = try open()
        #expect(ingest.permitWindow == nil)
        #expect(try ingest.store.storedPermit() == nil)
        send(ingest, [LineFrame(line: 1, totals: (1, 0), period: (1, 0))], fCnt: 1)
        #expect(ingest.sensors.isEmpty)
    }

    /// (lines, people_in and people_out `decode --normalized` prints)
    @Test(arguments: [
        (nil, [2.0, 0.0]),
        ([1], [2.0, 0.0]),
        ([1, 2], [5.0, 1.0]),
        ([2], [3.0, 1.0]),
        ([4], []),  // the payload has no line 4: no people readings, as a claim would store
    ] as [([Int]?, [Double])])
    func decodeForCLISumsTheListedLines(lines: [Int]?, expected: [Double]) throws {
        let payload = bytes(
            LineFrame(line: 1, totals: (100, 90), period: (2, 0)).hex + LineFrame(line: 2, totals: (50, 40), period: (3, 1)).hex)
        let shown = try SensorIngest.decodeForCLI(
            vendor: "milesight", model: "VS133", payload: payload, normalized: true, lines: lines)
        let people = (shown["readings"]?.array ?? []).filter {
            $0["kind"] == "people_in" || $0["kind"] == "people_out"
        }
        #expect(people.compactMap { $0["value"]?.double } == expected)
    }

    /// (model, normalized, lines, what the refusal says)
    @Test(arguments: [
        ("VS133", false, [1, 2], "lines only change the normalized readings"),
        ("AM307", true, [1], "only a VS133 or VS135 has counting lines"),
        ("VS133", true, [5], "line 5 does not exist"),
        ("VS135", true, [], "an empty list counts no one"),
    ])
    func decodeForCLIRefusesLinesItCannotUse(model: String, normalized: Bool, lines: [Int], refusal: String) {
        do {
            _ = try SensorIngest.decodeForCLI(
                vendor: "milesight", model: model, payload: bytes("05CC02000000"), normalized: normalized, lines: lines)
            Issue.record("decoded \(model) with lines \(lines)")
        } catch {
            #expect(error.field == "lines")
            #expect(error.reason.contains(refusal), "\(error.reason)")
        }
    }
}
