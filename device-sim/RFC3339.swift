/// RFC 3339 UTC timestamps with microseconds, e.g. `2022-12-27T07:21:27.078763Z`, without
/// Foundation: days since the epoch become a civil date by the proleptic Gregorian rules.
enum RFC3339 {
    static func format(unixMicros: Int64) -> String {
        let micros = Int(unixMicros % 1_000_000 + 1_000_000) % 1_000_000
        let seconds = Int((unixMicros - Int64(micros)) / 1_000_000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = civil(daysSinceEpoch: days)
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2))"
            + ":\(pad(secondOfDay % 60, 2)).\(pad(micros, 6))Z"
    }

    /// Year, month, day of a day count from 1970-01-01, counting in 400-year eras that start on
    /// 1 March so the leap day falls at the end of each year.
    static func civil(daysSinceEpoch: Int) -> (year: Int, month: Int, day: Int) {
        let z = daysSinceEpoch + 719_468                     // days since 0000-03-01
        let era = (z >= 0 ? z : z - 146_096) / 146_097       // 146,097 days per 400 years
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153         // 0 = March … 11 = February
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
