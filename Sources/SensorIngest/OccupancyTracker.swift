#if canImport(Glibc)
import Glibc
#endif

/// People in each resource, derived from line-crossing counters: in − out, never below zero,
/// starting again at local midnight (a counter that missed someone leaving must not carry a
/// phantom occupant into the next day). PIR occupancy readings mark a room occupied too.
///
/// Pure bookkeeping: readings in, changed resources out; the façade stores and announces them.
public struct OccupancyTracker {
    /// One resource's state on one local day.
    public struct Day: Equatable, Sendable {
        public var resource: String
        /// Local calendar day as `yyyymmdd`.
        public var day: Int
        public var people: Int
        public var updatedAt: Double

        public init(resource: String, day: Int, people: Int, updatedAt: Double) {
            self.resource = resource
            self.day = day
            self.people = people
            self.updatedAt = updatedAt
        }
    }

    /// What a resource shows now.
    public struct State: Equatable, Sendable {
        public var people: Int?
        public var occupied: Bool
    }

    private var days: [String: Day] = [:]
    /// PIR state per resource and sensor.
    private var presenceSensors: [String: [String: Bool]] = [:]
    /// Local day of a Unix time; the daemon uses the host's time zone, tests a fixed offset.
    private let dayOf: (Double) -> Int

    public init(dayOf: @escaping (Double) -> Int = OccupancyTracker.localDay) {
        self.dayOf = dayOf
    }

    /// Restores what the store kept; a day that has passed counts as empty.
    public mutating func restore(_ saved: [Day]) {
        for day in saved { days[day.resource] = day }
    }

    /// Whether a reading can change a resource's state (counters, PIR).
    public static func matters(_ kind: ReadingKind) -> Bool {
        let name = kind.rawValue
        return name == "occupancy" || name == "people_in" || name == "people_out"
    }

    /// Applies one reading; returns the resource's new day record when its count changed.
    ///
    /// `people_in` and `people_out` are deltas (counts since the previous report), as Irisys
    /// registers and the Milesight period counters deliver them.
    public mutating func apply(_ reading: Reading) -> Day? {
        let kind = reading.kind.rawValue
        if kind == "occupancy" {
            presenceSensors[reading.resource, default: [:]][reading.sensor] = reading.value > 0
            return nil
        }
        guard kind == "people_in" || kind == "people_out", reading.value.isFinite, reading.value > 0 else {
            return nil
        }
        let today = dayOf(reading.timestamp)
        let previous = days[reading.resource]
        var day = previous ?? Day(resource: reading.resource, day: today, people: 0, updatedAt: 0)
        if day.day < today {
            day.day = today
            day.people = 0
        } else if day.day > today {
            return nil  // a late report from yesterday: its counts belong to a closed day
        }
        let delta = Int(reading.value.rounded())
        day.people = kind == "people_in" ? day.people + delta : max(0, day.people - delta)
        day.updatedAt = reading.timestamp
        days[reading.resource] = day
        return previous?.people == day.people && previous?.day == day.day ? nil : day
    }

    /// Resets every resource whose day is over; returns those that were not empty.
    public mutating func rollOver(now: Double) -> [Day] {
        let today = dayOf(now)
        var reset: [Day] = []
        for (resource, var day) in days where day.day < today {
            let hadPeople = day.people != 0
            day.day = today
            day.people = 0
            day.updatedAt = now
            days[resource] = day
            if hadPeople { reset.append(day) }
        }
        return reset
    }

    /// The resource's people count (when it has counters) and whether it is occupied.
    public func state(of resource: String, now: Double) -> State {
        var people: Int?
        if let day = days[resource] { people = day.day == dayOf(now) ? day.people : 0 }
        let pir = presenceSensors[resource]?.values.contains(true) ?? false
        return State(people: people, occupied: (people ?? 0) > 0 || pir)
    }

    /// Resources with counters or presence sensors, sorted.
    public var resources: [String] {
        Set(days.keys).union(presenceSensors.keys).sorted()
    }

    /// `yyyymmdd` of a Unix time in the host's time zone (`TZ`, else `/etc/localtime`).
    public static func localDay(_ time: Double) -> Int {
        var seconds = time_t(time.rounded(.down))
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return utcDay(time) }
        return Int(parts.tm_year + 1900) * 10_000 + Int(parts.tm_mon + 1) * 100 + Int(parts.tm_mday)
    }

    /// `yyyymmdd` of a Unix time shifted by `offset` seconds (civil-from-days, proleptic Gregorian).
    public static func utcDay(_ time: Double, offset: Double = 0) -> Int {
        let days = Int(((time + offset) / 86_400).rounded(.down))
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return y * 10_000 + m * 100 + d
    }
}
