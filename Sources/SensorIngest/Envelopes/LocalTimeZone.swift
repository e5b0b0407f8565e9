/// A gateway's local time zone, for timestamps written without an offset (Pressac's
/// `"2022-11-15 17:55:02"`), without a tz database.
///
/// Accepted spellings: a fixed offset (`+08:00`, `-0530`, `UTC+8`, `UTC`, `Z`) or one of the
/// names in ``named``, which carry today's daylight-saving rule (EU, US or south-east
/// Australia). The limit, by design: historical rule changes are not modelled, and the hour that
/// repeats when clocks go back is read as the first (daylight) one. Zones not in the table work
/// as a fixed offset, off by an hour during daylight-saving time.
public struct LocalTimeZone: Sendable, Equatable, CustomStringConvertible {
    enum Rule: Sendable, Equatable {
        case none
        /// Last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC.
        case europe
        /// Second Sunday of March 02:00 local to first Sunday of November 02:00 local.
        case unitedStates
        /// First Sunday of October 02:00 local standard to first Sunday of April 03:00 local daylight.
        case southEastAustralia
    }

    /// Seconds east of UTC outside daylight-saving time.
    public let standardOffset: Int
    let rule: Rule
    public let description: String

    init(_ name: String, hours: Double, _ rule: Rule) {
        self.standardOffset = Int(hours * 3600)
        self.rule = rule
        self.description = name
    }

    /// A fixed offset, seconds east of UTC.
    public init(offsetSeconds: Int) {
        self.standardOffset = offsetSeconds
        self.rule = .none
        let sign = offsetSeconds < 0 ? "-" : "+"
        let minutes = abs(offsetSeconds) / 60
        self.description = "UTC" + sign + pad(minutes / 60) + ":" + pad(minutes % 60)
    }

    /// Parses a name or an offset; nil if it is neither.
    public init?(_ text: String) {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { return nil }
        if let zone = Self.named.first(where: { $0.description.lowercased() == trimmed.lowercased() }) {
            self = zone
            return
        }
        var rest = Substring(trimmed)
        if rest.uppercased().hasPrefix("UTC") || rest.uppercased().hasPrefix("GMT") { rest = rest.dropFirst(3) }
        if rest.isEmpty || rest == "Z" || rest == "z" {
            self.init(offsetSeconds: 0)
            return
        }
        guard let sign = rest.first, sign == "+" || sign == "-" else { return nil }
        let digits = rest.dropFirst().filter { $0 != ":" }
        guard !digits.isEmpty, digits.count <= 4, digits.allSatisfy(\.isASCII), let number = Int(digits) else { return nil }
        let (hours, minutes) = digits.count <= 2 ? (number, 0) : (number / 100, number % 100)
        guard hours <= 14, minutes < 60 else { return nil }
        self.init(offsetSeconds: (sign == "-" ? -1 : 1) * (hours * 3600 + minutes * 60))
    }

    /// The built-in zones.
    public static let named: [LocalTimeZone] = [
        .init("UTC", hours: 0, .none),
        .init("Europe/London", hours: 0, .europe), .init("Europe/Dublin", hours: 0, .europe),
        .init("Europe/Lisbon", hours: 0, .europe),
        .init("Europe/Amsterdam", hours: 1, .europe), .init("Europe/Berlin", hours: 1, .europe),
        .init("Europe/Brussels", hours: 1, .europe), .init("Europe/Copenhagen", hours: 1, .europe),
        .init("Europe/Madrid", hours: 1, .europe), .init("Europe/Oslo", hours: 1, .europe),
        .init("Europe/Paris", hours: 1, .europe), .init("Europe/Prague", hours: 1, .europe),
        .init("Europe/Rome", hours: 1, .europe), .init("Europe/Stockholm", hours: 1, .europe),
        .init("Europe/Vienna", hours: 1, .europe), .init("Europe/Warsaw", hours: 1, .europe),
        .init("Europe/Zurich", hours: 1, .europe),
        .init("Europe/Athens", hours: 2, .europe), .init("Europe/Helsinki", hours: 2, .europe),
        .init("America/New_York", hours: -5, .unitedStates), .init("America/Toronto", hours: -5, .unitedStates),
        .init("America/Chicago", hours: -6, .unitedStates), .init("America/Denver", hours: -7, .unitedStates),
        .init("America/Phoenix", hours: -7, .none), .init("America/Los_Angeles", hours: -8, .unitedStates),
        .init("Asia/Dubai", hours: 4, .none), .init("Asia/Kolkata", hours: 5.5, .none),
        .init("Asia/Singapore", hours: 8, .none), .init("Asia/Shanghai", hours: 8, .none),
        .init("Asia/Hong_Kong", hours: 8, .none), .init("Asia/Taipei", hours: 8, .none),
        .init("Asia/Kuala_Lumpur", hours: 8, .none), .init("Australia/Perth", hours: 8, .none),
        .init("Asia/Tokyo", hours: 9, .none), .init("Asia/Seoul", hours: 9, .none),
        .init("Australia/Brisbane", hours: 10, .none),
        .init("Australia/Sydney", hours: 10, .southEastAustralia),
        .init("Australia/Melbourne", hours: 10, .southEastAustralia),
    ]

    /// Unix seconds for a wall-clock time given as seconds since 1970-01-01 00:00 *local*.
    public func utc(fromLocal local: Double) -> Double {
        let standard = local - Double(standardOffset)
        let daylight = standard - 3600
        // Wall times inside the repeated hour match both; the daylight reading comes first.
        return isDaylight(atUTC: daylight) ? daylight : standard
    }

    /// The offset in effect at a UTC instant.
    public func offset(atUTC instant: Double) -> Int {
        standardOffset + (isDaylight(atUTC: instant) ? 3600 : 0)
    }

    func isDaylight(atUTC instant: Double) -> Bool {
        // Beyond ±100,000 years the calendar arithmetic would overflow; no gateway lives there.
        guard instant.magnitude < 3e15 else { return false }
        let year = Self.year(ofUTC: instant + Double(standardOffset))
        let standard = Double(standardOffset)
        switch rule {
        case .none: return false
        case .europe:
            let start = Self.at(year, 3, Self.lastSunday(year, 3), hour: 1)
            let end = Self.at(year, 10, Self.lastSunday(year, 10), hour: 1)
            return instant >= start && instant < end
        case .unitedStates:
            let start = Self.at(year, 3, Self.nthSunday(2, year, 3), hour: 2) - standard
            let end = Self.at(year, 11, Self.nthSunday(1, year, 11), hour: 2) - standard - 3600
            return instant >= start && instant < end
        case .southEastAustralia:
            let end = Self.at(year, 4, Self.nthSunday(1, year, 4), hour: 3) - standard - 3600
            let start = Self.at(year, 10, Self.nthSunday(1, year, 10), hour: 2) - standard
            return instant < end || instant >= start
        }
    }

    private static func at(_ year: Int, _ month: Int, _ day: Int, hour: Int) -> Double {
        Double(RFC3339.daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600)
    }

    /// 0 = Sunday.
    private static func weekday(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let days = RFC3339.daysSinceEpoch(year: year, month: month, day: day)
        return ((days + 4) % 7 + 7) % 7
    }

    private static func lastSunday(_ year: Int, _ month: Int) -> Int {
        let last = RFC3339.daysIn(month: month, year: year)
        return last - weekday(year, month, last)
    }

    private static func nthSunday(_ n: Int, _ year: Int, _ month: Int) -> Int {
        let first = 1 + (7 - weekday(year, month, 1)) % 7
        return first + 7 * (n - 1)
    }

    private static func year(ofUTC instant: Double) -> Int {
        // Days to civil year (inverse of the era arithmetic in RFC3339.daysSinceEpoch).
        let days = Int((instant / 86_400).rounded(.down)) + 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        return yearOfEra + era * 400 + (monthIndex >= 10 ? 1 : 0)
    }
}

private func pad(_ number: Int) -> String { number < 10 ? "0\(number)" : "\(number)" }

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
