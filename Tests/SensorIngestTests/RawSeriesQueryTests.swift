import FleetJSON
import FleetLoop
import FleetTestSupport
import Testing

@testable import SensorIngest

/// Raw telemetry is read in time windows walking back from `to`; a request whose budget runs out
/// says where to continue, and following `more_before` returns every reading exactly once.
@Suite struct RawSeriesQueryTests {
    let directory = TemporaryDirectory()
    let clock = ManualClock(unixTime: 1_800_000_000)
    let store: TelemetryStore
    let ingest: SensorIngest
    /// Hourly CO2 from one sensor and temperature from another, over three days.
    static let start = 1_799_740_800.0
    static let hours = 72

    init() throws {
        store = try TelemetryStore(path: directory.path + "/telemetry.sqlite")
        ingest = SensorIngest(store: store, clock: clock, logger: CapturedLogs().logger)
        var readings: [Reading] = []
        for h in 0..<Self.hours {
            let t = Self.start + Double(h) * 3600
            readings.append(Reading(sensor: "A", resource: "hq/1", kind: .co2, value: Double(400 + h), unit: "ppm",
                                    timestamp: t, receivedAt: t))
            readings.append(Reading(sensor: "B", resource: "hq/2", kind: .temperature, value: 21, unit: "°C",
                                    timestamp: t + 60, receivedAt: t + 60))
        }
        try store.append(readings)
    }

    func page(to: Double?, budget: Duration, from: Double? = nil) throws -> (values: [Double], more: Double?) {
        let json = try ingest.telemetryJSON(sensor: "A", resource: nil, kind: .co2, from: from, to: to, bucket: nil,
                                            limit: 1000, budget: budget)
        return (json["readings"]?.array?.compactMap { $0["value"]?.double } ?? [], json["more_before"]?.double)
    }

    @Test func withinTheBudgetOneAnswerHoldsTheWholeRange() throws {
        let all = try page(to: nil, budget: .seconds(1))
        #expect(all.more == nil)
        #expect(all.values == (0..<Self.hours).reversed().map { Double(400 + $0) })
    }

    @Test func aStoreSmallerThanTheFirstWindowIsReadInOneStep() throws {
        var values: [Double] = []
        var to: Double?
        var requests = 0
        repeat {
            let answer = try page(to: to, budget: .zero)
            values += answer.values
            to = answer.more
            requests += 1
        } while to != nil && requests < 100
        #expect(requests == 1, "144 readings: the first window covers the store")
        #expect(values == (0..<Self.hours).reversed().map { Double(400 + $0) })
    }

    /// A denser store than the first window holds: 72 hours at 20,000 readings an hour.
    @Test(arguments: [1, 3, 8])
    func followingMoreBeforeReturnsEveryReadingOnceNewestFirst(windowsPerRequest: Int) throws {
        let dense = try TelemetryStore(path: directory.path + "/dense.sqlite")
        for h in 0..<Self.hours {
            let t = Self.start + Double(h) * 3600
            var batch = [Reading(sensor: "A", resource: "hq/1", kind: .co2, value: Double(400 + h), unit: "ppm",
                                 timestamp: t, receivedAt: t)]
            for i in 0..<1999 {
                let u = t + 1 + Double(i)
                batch.append(Reading(sensor: "B", resource: "hq/2", kind: .temperature, value: 21, unit: "°C",
                                     timestamp: u, receivedAt: u))
            }
            try dense.append(batch)
        }
        var values: [Double] = []
        var to: Double?
        var requests = 0
        repeat {
            var windows = 0
            let answer = try RawSeriesQuery(sensor: "A", kind: .co2, from: nil, to: to, limit: 1000)
                .run(on: dense) { windows += 1; return windows >= windowsPerRequest }
            values += answer.readings.map(\.value)
            to = answer.moreBefore
            requests += 1
        } while to != nil && requests < 1000
        #expect(values == (0..<Self.hours).reversed().map { Double(400 + $0) })
        if windowsPerRequest == 1 {
            #expect(requests > 1, "the first window holds about 20,000 of the 144,000 readings")
        }
        #expect(requests <= 8 / windowsPerRequest + 1, "windows widen within a request")
    }

    @Test(arguments: [(0, 24), (24, 48), (70, 72)])
    func fromIsInclusiveAndToExclusive(firstHour: Int, endHour: Int) throws {
        let from = Self.start + Double(firstHour) * 3600, to = Self.start + Double(endHour) * 3600
        let answer = try page(to: to, budget: .seconds(1), from: from)
        #expect(answer.more == nil)
        #expect(answer.values == (firstHour..<endHour).reversed().map { Double(400 + $0) })
    }

    @Test func anEmptyStoreAnswersEmpty() throws {
        let empty = try TelemetryStore(path: directory.path + "/empty.sqlite")
        let query = RawSeriesQuery(sensor: "A", from: nil, to: nil, limit: 10)
        let answer = try query.run(on: empty) { true }
        #expect(answer.readings.isEmpty && answer.moreBefore == nil)
    }
}
