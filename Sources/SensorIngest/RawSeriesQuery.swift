import FleetStore

/// Raw readings newest first, read in time windows walking back from `to`, so that one request
/// never holds the loop for long.
///
/// Packed samples are keyed by time only (a per-sensor index would cost a random page per uplink,
/// see ``TelemetryStore``), so one statement for a rarely reporting sensor over a month would scan
/// the whole month's index. The first window is sized from the store's average density to hold
/// about ``firstWindowReadings`` readings of all sensors, and windows double while the budget
/// lasts; when it is spent the answer says where to continue (`moreBefore`, the exclusive `to` of
/// the next request), and the client asks again.
struct RawSeriesQuery {
    var sensor: String?
    var resource: String?
    var kind: ReadingKind?
    /// Earliest timestamp, inclusive.
    var from: Double?
    /// Latest timestamp, exclusive.
    var to: Double?
    var limit: Int

    /// About a millisecond of index to read, whatever the site's size or rate.
    static let firstWindowReadings = 20_000.0
    static let narrowestWindow = 1.0
    static let widestWindow = 30 * 86_400.0

    struct Answer {
        var readings: [Reading]
        /// Set when the budget ran out before `from` (or the oldest stored reading) was reached.
        var moreBefore: Double?
    }

    /// - Parameter budgetSpent: asked after each window; true ends the walk there.
    func run(on store: TelemetryStore, budgetSpent: () -> Bool) throws(StoreError) -> Answer {
        guard limit > 0, let span = try store.timestampSpan() else { return Answer(readings: []) }
        let lowest = max(from ?? -.infinity, span.oldest)
        var upper = min(to ?? .infinity, span.newest.nextUp)
        let density = span.readings / max(span.newest - span.oldest, 1)
        var window = min(max(Self.firstWindowReadings / density, Self.narrowestWindow), Self.widestWindow)
        var found: [Reading] = []
        while upper > lowest {
            let lower = max(lowest, upper - window)
            found += try store.series(
                sensor: sensor, resource: resource, kind: kind, from: lower, to: upper, limit: limit - found.count)
            upper = lower
            if found.count >= limit || upper <= lowest { break }
            if budgetSpent() { return Answer(readings: found, moreBefore: upper) }
            window = min(window * 2, Self.widestWindow)
        }
        return Answer(readings: found)
    }
}
