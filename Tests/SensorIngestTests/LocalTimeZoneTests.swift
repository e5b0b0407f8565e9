import Testing

@testable import SensorIngest

@Suite struct LocalTimeZoneTests {
    @Test(arguments: [
        ("+08:00", 28_800), ("-0530", -19_800), ("UTC+8", 28_800), ("UTC", 0), ("Z", 0), ("GMT-3", -10_800),
        ("Asia/Singapore", 28_800), ("europe/berlin", 3_600), ("Asia/Kolkata", 19_800),
    ])
    func parses(text: String, standardOffset: Int) throws {
        #expect(try #require(LocalTimeZone(text)).standardOffset == standardOffset)
    }

    @Test(arguments: ["Mars/Olympus", "+25:00", "UTC+", "8", "+08:60", ""])
    func rejects(text: String) {
        #expect(LocalTimeZone(text) == nil)
    }

    /// Local wall time → UTC across the daylight-saving rules (2024 dates).
    @Test(arguments: [
        ("Europe/Berlin", "2024-01-15T12:00:00Z", "2024-01-15T11:00:00Z"),
        ("Europe/Berlin", "2024-07-15T12:00:00Z", "2024-07-15T10:00:00Z"),
        ("Europe/Berlin", "2024-03-31T01:59:00Z", "2024-03-31T00:59:00Z"),  // before the switch
        ("Europe/Berlin", "2024-03-31T03:00:00Z", "2024-03-31T01:00:00Z"),  // after it
        ("Europe/London", "2024-10-27T00:30:00Z", "2024-10-26T23:30:00Z"),
        ("Europe/London", "2024-10-27T02:00:00Z", "2024-10-27T02:00:00Z"),
        ("America/New_York", "2024-03-10T01:30:00Z", "2024-03-10T06:30:00Z"),
        ("America/New_York", "2024-03-10T03:30:00Z", "2024-03-10T07:30:00Z"),
        ("America/New_York", "2024-11-03T00:30:00Z", "2024-11-03T04:30:00Z"),
        ("America/New_York", "2024-11-03T03:00:00Z", "2024-11-03T08:00:00Z"),
        ("Australia/Sydney", "2024-01-15T12:00:00Z", "2024-01-15T01:00:00Z"),
        ("Australia/Sydney", "2024-07-15T12:00:00Z", "2024-07-15T02:00:00Z"),
        ("Asia/Singapore", "2022-11-15T17:55:02Z", "2022-11-15T09:55:02Z"),
    ])
    func convertsLocalToUTC(zone: String, local: String, utc: String) throws {
        let timeZone = try #require(LocalTimeZone(zone))
        #expect(timeZone.utc(fromLocal: try RFC3339.parse(local)) == (try RFC3339.parse(utc)))
    }

    @Test func absurdInstantsDoNotTrap() throws {
        let zone = try #require(LocalTimeZone("Europe/Berlin"))
        for instant in [Double.infinity, -.infinity, .nan, 1e300, -1e300] {
            #expect(zone.offset(atUTC: instant) == 3600)
        }
    }
}
