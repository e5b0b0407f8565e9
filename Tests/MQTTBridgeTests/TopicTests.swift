import Testing
@testable import MQTTBridge

@Suite struct TopicTests {
    @Test(arguments: [
        ("fc/v1/dev/+/up/+", "fc/v1/dev/door-1/up/authorize", true),
        ("fc/v1/dev/+/up/+", "fc/v1/dev/door-1/up/authorize/extra", false),
        ("fc/v1/dev/+/up/+", "fc/v1/dev/door-1/down/authorize", false),
        ("milesight/uplink/#", "milesight/uplink", true),
        ("milesight/uplink/#", "milesight/uplink/24e1/x", true),
        ("#", "$SYS/broker/uptime", false),
        ("+/x", "$SYS/x", false),
        ("a/+/c", "a//c", true),
        ("a/b", "a/b/", false),
    ])
    func filterMatching(filter: String, topic: String, expected: Bool) {
        #expect(Topic.matches(filter: filter, topic: topic) == expected)
    }

    @Test func publishNamesRejectWildcardsAndEmpty() {
        #expect(Topic.isValidName("fc/v1/dev/a/down/x"))
        #expect(!Topic.isValidName(""))
        #expect(!Topic.isValidName("fc/+/x"))
        #expect(!Topic.isValidName("fc/#"))
    }

    @Test func backoffGrowsToTheCapAndResets() {
        var p = ReconnectPolicy(base: .milliseconds(100), cap: .seconds(1))
        let top: (ClosedRange<Double>) -> Double = { $0.upperBound }
        #expect(p.nextDelay(random: top) == .milliseconds(100))
        #expect(p.nextDelay(random: top) == .milliseconds(200))
        #expect(p.nextDelay(random: top) == .milliseconds(400))
        #expect(p.nextDelay(random: top) == .milliseconds(800))
        #expect(p.nextDelay(random: top) == .milliseconds(1000))
        #expect(p.nextDelay(random: { $0.lowerBound }) == .milliseconds(500))
        p.reset()
        #expect(p.nextDelay(random: top) == .milliseconds(100))
    }
}
