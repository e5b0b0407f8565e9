import Testing
@testable import FleetController

/// `[pairing]` and the dynsec admin account in `[broker]`.
@Suite struct PairingConfigTests {
    private func parse(_ text: String) throws -> Configuration {
        try Configuration.parse(text: text, file: "/etc/fc.toml", environment: [:])
    }

    @Test func pairingKeysAndTheAdminAccountAreRead() throws {
        let c = try parse("""
            [broker]
            username = "fc-controller"
            password_file = "/run/c"
            admin_username = "fc-admin"
            admin_password_file = "/run/a"
            [pairing]
            bootstrap_username = "fc-pairing"
            code_ttl = "5m"
            max_failures = 3
            failure_window = "15m"
            cooldown = "20m"
            """)
        #expect(c.broker.adminUsername == "fc-admin" && c.broker.adminPasswordFile == "/run/a")
        #expect(c.pairing.bootstrapUsername == "fc-pairing")
        let p = c.pairing.policy
        #expect(p.codeTTL == 300 && p.maxFailures == 3 && p.failureWindow == 900 && p.cooldown == 1200)
    }

    @Test func defaultsFollowRFC8628() throws {
        let p = try parse("").pairing.policy
        #expect(p.codeTTL == 600 && p.maxFailures == 5 && p.failureWindow == 600)
    }

    @Test(arguments: [
        ("[broker]\nadmin_username = \"a\"", "broker.admin_username"),
        ("[pairing]\ncode_ttl = \"5s\"", "pairing.code_ttl"),
        ("[pairing]\nmax_failures = 0", "pairing.max_failures"),
        ("[pairing]\ncodes = 1", "pairing"),
    ])
    func badKeysAreNamed(_ text: String, _ key: String) {
        do {
            _ = try parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error)".contains(key), "\(error)")
        }
    }
}
