import FleetJSON
import FleetLoop
import FleetTestSupport
import Testing

@testable import SensorIngest

private func le(_ value: Int, bytes count: Int) -> String {
    (0..<count).map { String(format: "%02X", (value >> (8 * $0)) & 0xFF) }.joined()
}

/// One uplink of a people counter: running totals and/or period counts, at a time.
struct CounterStep: CustomStringConvertible, Sendable {
    var totals: (in: Int, out: Int)?
    var period: (in: Int, out: Int)?
    var at: Double

    var description: String { "totals \(totals.map { "\($0)" } ?? "-") period \(period.map { "\($0)" } ?? "-") at \(at)" }

    /// The payload in `model`'s layout (sensors.md §1.2).
    func hex(_ model: String) -> String {
        var hex = ""
        switch model {
        case "VS133", "VS135":
            if let t = totals { hex += "03D2" + le(t.in, bytes: 4) + "04D2" + le(t.out, bytes: 4) }
            if let p = period { hex += "05CC" + le(p.in, bytes: 2) + le(p.out, bytes: 2) }
        case "VS350", "VS351":
            if let t = totals { hex += "04CC" + le(t.in, bytes: 2) + le(t.out, bytes: 2) }
            if let p = period { hex += "05CC" + le(p.in, bytes: 2) + le(p.out, bytes: 2) }
        case "VS121":
            if let p = period { hex += "05CC" + le(p.in, bytes: 2) + le(p.out, bytes: 2) }
            if let t = totals { hex += "0DCC" + le(t.in, bytes: 2) + le(t.out, bytes: 2) }
        default:  // VS132
            if let t = totals { hex += "03D2" + le(t.in, bytes: 4) + "04D2" + le(t.out, bytes: 4) }
            if let p = period { hex += "05CC" + le(p.in, bytes: 2) + le(p.out, bytes: 2) }
        }
        return hex
    }
}

private let t0 = 1_800_000_000.0

/// Running totals become per-uplink deltas before the occupancy tracker; period counts count at
/// once and the next total adds only what they missed; restarts, wraps, gaps and replays invent
/// no one.
@Suite struct CounterTotalsTests {
    @Test(arguments: [
        (10.0, 15.0, 65_536.0, 5.0),
        (7.0, 7.0, 65_536.0, 0.0),
        (65_530.0, 4.0, 65_536.0, 10.0),  // u16 wrap
        (4_294_967_290.0, 5.0, 4_294_967_296.0, 11.0),  // u32 wrap
        (500.0, 3.0, 65_536.0, 3.0),  // restarted (power cycle, reset command): counted since
        (40_000.0, 30_000.0, 65_536.0, 30_000.0),  // a drop from mid-range is a restart, not a wrap
    ])
    func deltaOfARunningTotal(last: Double, new: Double, modulus: Double, expected: Double) {
        #expect(CounterTotals.delta(from: last, to: new, modulus: modulus) == expected)
    }

    @Test(arguments: [
        ("first total is a baseline; its period counts are used", "VS133", [
            CounterStep(totals: (100, 90), period: (3, 1), at: t0),
            CounterStep(totals: (105, 92), period: (4, 2), at: t0 + 600),  // the total's difference wins
        ], [[3, 1], [5, 2]]),
        ("period counts between totals count at once; the next total adds what they missed", "VS133", [
            CounterStep(totals: (100, 90), period: nil, at: t0),
            CounterStep(totals: nil, period: (2, 1), at: t0 + 300),
            CounterStep(totals: (104, 91), period: nil, at: t0 + 600),  // a lost period uplink held 2 in
            CounterStep(totals: (105, 93), period: (1, 2), at: t0 + 900),
        ], [[], [2, 1], [2, 0], [1, 2]]),
        ("period counts beyond the total's difference add nothing more", "VS350", [
            CounterStep(totals: (100, 90), period: nil, at: t0),
            CounterStep(totals: nil, period: (5, 0), at: t0 + 300),
            CounterStep(totals: (103, 90), period: nil, at: t0 + 600),
        ], [[], [5, 0], [0, 0]]),
        ("totals that come rarely lose no period counts across a long gap", "VS133", [
            CounterStep(totals: (100, 90), period: nil, at: t0),
            CounterStep(totals: nil, period: (2, 1), at: t0 + 3600),
            CounterStep(totals: (150, 120), period: (3, 3), at: t0 + 7 * 3600),
            CounterStep(totals: (151, 121), period: (1, 1), at: t0 + 7 * 3600 + 600),
        ], [[], [2, 1], [3, 3], [1, 1]]),
        ("u16 totals wrap", "VS350", [
            CounterStep(totals: (65_530, 10), period: nil, at: t0),
            CounterStep(totals: (4, 12), period: (9, 9), at: t0 + 600),
        ], [[], [10, 2]]),
        ("a restarted counter counts from zero", "VS133", [
            CounterStep(totals: (500, 400), period: nil, at: t0),
            CounterStep(totals: (3, 1), period: nil, at: t0 + 600),
        ], [[], [3, 1]]),
        ("after a long gap the total is a new baseline", "VS132", [
            CounterStep(totals: (100, 90), period: nil, at: t0),
            CounterStep(totals: (150, 120), period: (2, 1), at: t0 + 7 * 3600),
            CounterStep(totals: (151, 120), period: (1, 0), at: t0 + 7 * 3600 + 600),
        ], [[], [2, 1], [1, 0]]),
        ("a replay from before the last total changes nothing", "VS351", [
            CounterStep(totals: (100, 90), period: nil, at: t0 + 600),
            CounterStep(totals: (95, 88), period: (1, 1), at: t0),
            CounterStep(totals: (101, 90), period: nil, at: t0 + 1200),
        ], [[], [], [1, 0]]),
        ("VS121 accumulated totals", "VS121", [
            CounterStep(totals: (10, 8), period: (2, 0), at: t0),
            CounterStep(totals: (13, 9), period: (3, 1), at: t0 + 600),
        ], [[2, 0], [3, 1]]),
        ("without totals the period counts are the deltas", "VS135", [
            CounterStep(totals: nil, period: (2, 1), at: t0),
            CounterStep(totals: nil, period: (1, 1), at: t0 + 600),
        ], [[2, 1], [1, 1]]),
    ])
    func peopleCountsPerUplink(name: String, model: String, steps: [CounterStep], expected: [[Double]]) throws {
        let decoder = try DecoderRegistry.standard.decoder(vendor: "milesight", model: model)
        var totals = CounterTotals()
        for (step, want) in zip(steps, expected) {
            let decoded = try decoder.decode(fPort: 85, payload: bytes(step.hex(model)))
            let counted = totals.apply(decoded, sensor: "S", model: model, at: step.at)
            let sums = [ReadingKind.peopleIn, .peopleOut].map { kind in
                counted.measurements.filter { $0.kind == kind }.map(\.value)
            }
            let got = sums.allSatisfy(\.isEmpty) ? [] : sums.map { $0.reduce(0, +) }
            #expect(got == want, "\(name): \(step)")
            #expect(counted.fields == decoded.fields, "vendor fields stay as decoded")
        }
    }

    @Test func modelsWithoutTotalsAreLeftAlone() throws {
        var totals = CounterTotals()
        let decoded = DecodedUplink(fields: ["total_in": 5, "total_out": 1],
                                    measurements: [Measurement(kind: .peopleIn, value: 2, unit: "people")])
        #expect(totals.apply(decoded, sensor: "S", model: "AM307", at: t0) == decoded)
        #expect(totals.unsaved.isEmpty)
    }

    /// Through the façade: deltas reach the occupancy tracker, the last totals are stored with
    /// the batch, and after a restart the first uplink counts from the stored total.
    @Test func occupancyFromTotalsSurvivesARestart() throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(unixTime: t0)
        let logs = CapturedLogs()
        let counter = "24E124000000A133"
        func open() throws -> SensorIngest {
            let ingest = SensorIngest(
                store: try TelemetryStore(path: directory.path + "/telemetry.sqlite"), clock: clock, logger: logs.logger,
                dayOf: { OccupancyTracker.utcDay($0) })
            try ingest.claim(Sensor(devEUI: counter, vendor: "milesight", model: "VS133", resource: "hq/2/2.10"))
            return ingest
        }
        func send(_ ingest: SensorIngest, _ step: CounterStep, fCnt: Int) {
            clock.advance(by: .seconds(step.at - clock.unixTime))
            ingest.take([.lorawan(Uplink(devEUI: counter, fPort: 85, fCnt: fCnt, payload: bytes(step.hex("VS133"))))],
                        topic: "t", payload: [], at: clock.unixTime)
            ingest.flush()
        }
        do {
            let ingest = try open()
            // 09:00 UTC: the lifetime totals (1000 in, 990 out) are no one in the room now.
            send(ingest, CounterStep(totals: (1000, 990), period: (0, 0), at: t0 + 3600), fCnt: 1)
            #expect(ingest.occupancyState(of: "hq/2/2.10").people == nil)
            send(ingest, CounterStep(totals: (1004, 991), period: (4, 1), at: t0 + 4200), fCnt: 2)
            #expect(ingest.occupancyState(of: "hq/2/2.10").people == 3)
            // A period report without totals counts at once and is remembered as counted.
            send(ingest, CounterStep(totals: nil, period: (1, 0), at: t0 + 4500), fCnt: 3)
            #expect(ingest.occupancyState(of: "hq/2/2.10").people == 4)
            #expect(try ingest.store.counterTotals() == [
                CounterTotals.Total(
                    sensor: counter, line: "line_1", totalIn: 1004, totalOut: 991, at: t0 + 4200, countedIn: 1, countedOut: 0)
            ])
        }
        let ingest = try open()
        // After the restart: the crossings since the stored total, less the one already counted.
        send(ingest, CounterStep(totals: (1006, 994), period: (1, 3), at: t0 + 4800), fCnt: 4)
        #expect(ingest.occupancyState(of: "hq/2/2.10").people == 2)
        let stored = try ingest.store.series(sensor: counter, kind: .peopleIn, limit: 10).map(\.value)
        #expect(stored == [1, 1, 4, 0])
        #expect(try ingest.store.counterTotals().first?.countedIn == 0)
        let json = ingest.occupancyJSON()
        #expect(json["resources"]?[0]?["people"] == 2)
    }
}
