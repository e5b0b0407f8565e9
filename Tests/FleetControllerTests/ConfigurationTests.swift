import Testing
@testable import FleetController

@Suite struct ConfigurationTests {
    private func parse(_ text: String) throws -> Configuration {
        try Configuration.parse(text: text, file: "/etc/fc.toml", environment: [:])
    }

    @Test func embeddedDefaultsFollowTheContract() {
        let c = Configuration.embeddedDefaults(environment: [:])
        #expect(c.stateDir == "./var")
        #expect(c.broker.host == "127.0.0.1" && c.broker.port == 1883)
        #expect(c.httpHost == "127.0.0.1" && c.httpPort == 8080)
        #expect(c.sources.isEmpty)
        #expect(c.broker.topicPrefix == "fc/v1")
        #expect(Configuration.embeddedDefaults(environment: ["STATE_DIRECTORY": "/var/lib/fc"]).stateDir == "/var/lib/fc")
    }

    @Test func fullExampleParses() throws {
        let c = try parse("""
            site = "hq"
            [state]
            dir = "/tmp/x"
            [broker]
            host = "10.0.0.2"
            port = 1884
            topic_prefix = "fc/v2"
            [http]
            listen = "0.0.0.0:9090"
            [[directory.sources]]
            name = "badges"
            kind = "csv"
            path = "/etc/p.csv"
            interval = "5m"
            [directory.sources.role_groups]
            admin = "UMA Admin"
            [[devices]]
            id = "door-lobby"
            kind = "checkin_panel"
            resource = "hq/lobby"
            [[sensors]]
            dev_eui = "24e124710c123456"
            vendor = "Milesight"
            model = "AM307"
            resource = "hq/3/3.14"
            [[ingest.subscriptions]]
            topic = "milesight/uplink/#"
            format = "milesight-gateway"
            [authorization]
            max_cache_age = "3d"
            """)
        #expect(c.site == "hq" && c.stateDir == "/tmp/x")
        #expect(c.broker.port == 1884 && c.broker.topicPrefix == "fc/v2")
        #expect(c.httpHost == "0.0.0.0" && c.httpPort == 9090)
        #expect(c.sources.first?.interval == .seconds(300))
        #expect(c.sources.first?.roleGroups == ["admin": "UMA Admin"])
        #expect(c.sensors.first?.devEUI == "24E124710C123456" && c.sensors.first?.vendor == "milesight")
        #expect(c.maxCacheAge == .seconds(3 * 86400))
    }

    /// Each broken file names the line and key an installer must fix.
    @Test(arguments: [
        ("[broker]\nport = \"x\"", 2, "broker.port", "expected an integer"),
        ("[broker]\nport = 70000", 2, "broker.port", "out of range"),
        ("site = \"hq\"\n[brokr]\nhost = \"a\"", 2, "brokr", "unknown key"),
        ("[http]\nlisten = \"localhost\"", 2, "http.listen", "IPv4:PORT"),
        ("[[devices]]\nid = \"a\"\nkind = \"panel\"\nresource = \"r\"", 3, "devices[0].kind", "unknown kind"),
        ("[[devices]]\nid = \"a\"\nkind = \"kiosk\"\nresource = \"r\"\n[[devices]]\nid = \"a\"\nkind = \"kiosk\"\nresource = \"r\"",
         6, "devices[1].id", "duplicate device id"),
        ("[[sensors]]\ndev_eui = \"123\"\nvendor = \"milesight\"\nmodel = \"AM307\"\nresource = \"r\"", 2, "sensors[0].dev_eui", "16 hex digits"),
        ("[[directory.sources]]\nname = \"b\"\nkind = \"csv\"", 1, "directory.sources[0].path", "needs path"),
        ("[[directory.sources]]\nname = \"b\"\nkind = \"ldap\"\npath = \"x\"", 3, "directory.sources[0].kind", "unknown source kind"),
        ("[[ingest.subscriptions]]\ntopic = \"a/#\"\nformat = \"lora\"", 3, "ingest.subscriptions[0].format", "unknown format"),
        ("[broker]\nusername = \"fc\"", 2, "broker.username", "password_file"),
        ("[[directory.sources]]\nname = \"b\"\nkind = \"csv\"\npath = \"x\"\ninterval = \"soon\"", 5, "directory.sources[0].interval", "duration"),
    ])
    func errorsNameFileLineAndKey(text: String, line: Int, key: String, message: String) {
        do {
            _ = try parse(text)
            Issue.record("expected an error for \(key)")
        } catch let e as ConfigError {
            #expect(e.file == "/etc/fc.toml")
            #expect(e.line == line, "\(e)")
            #expect(e.key == key, "\(e)")
            #expect(e.message.contains(message), "\(e)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func syntaxErrorsCarryTheParsersLine() {
        do {
            _ = try parse("site = \"hq\"\n[broker\nport = 1")
            Issue.record("expected a syntax error")
        } catch let e as ConfigError {
            #expect(e.line == 2)
            #expect(e.message.hasPrefix("TOML syntax"))
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test(arguments: [("60s", 60.0), ("5m", 300), ("12h", 43200), ("7d", 604800), ("250ms", 0.25), ("30", 30)])
    func durations(text: String, seconds: Double) {
        #expect(parseDuration(text)?.seconds == seconds)
    }

    @Test func keyLocatorResolvesNestedArrayTables() {
        let l = KeyLocator(text: "[[directory.sources]]\nname = \"a\"\n[[directory.sources]]\nname = \"b\"\n[directory.sources.role_groups]\nadmin = \"X\"\n")
        #expect(l.line("directory.sources[1].name") == 4)
        #expect(l.line("directory.sources[1].role_groups.admin") == 6)
        #expect(l.line("directory.sources[0].missing") == 1)
    }
}
