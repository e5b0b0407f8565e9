import Testing
@testable import FleetController

/// `[[sensors]]`, `[ingest]` and `[export]`: defaults, values, and errors naming file, line, key.
@Suite struct IngestConfigTests {
    private func parse(_ text: String) throws -> Configuration {
        try Configuration.parse(text: text, file: "/etc/fc.toml", environment: [:])
    }

    @Test func defaultsKeepThirtyDaysRawAndFourHundredDaysOfRollups() throws {
        let c = try parse("")
        #expect(c.ingest.rawRetentionDays == 30)
        #expect(c.ingest.rollupRetentionDays == 400)
        #expect(c.ingest.publishTelemetry)
        #expect(c.ingest.downlinkTopic == nil && c.ingest.exportURL == nil)
    }

    @Test func ingestAndExportKeys() throws {
        let c = try parse("""
            [[sensors]]
            dev_eui = "24e124406f079198"
            vendor = "Milesight"
            model = "DS3604"
            resource = "hq/3/3.14"
            name = "Board room"
            [[sensors]]
            dev_eui = "IRX-0042"
            vendor = "irisys"
            model = "Vector 4D"
            resource = "hq/lobby"
            [ingest]
            raw_retention_days = 7
            rollup_retention_days = 730
            downlink_topic = "milesight/downlink/$deveui"
            publish_telemetry = false
            [export]
            url = "https://analytics.example.com/v1/readings"
            token_file = "/run/credentials/export"
            batch = 200
            """)
        #expect(c.sensors.map(\.devEUI) == ["24E124406F079198", "IRX-0042"])
        #expect(c.sensors.first?.name == "Board room")
        #expect(c.ingest.rawRetentionDays == 7 && c.ingest.rollupRetentionDays == 730)
        #expect(c.ingest.downlinkTopic == "milesight/downlink/$deveui")
        #expect(!c.ingest.publishTelemetry)
        #expect(c.ingest.exportURL == "https://analytics.example.com/v1/readings")
        #expect(c.ingest.exportTokenFile == "/run/credentials/export")
        #expect(c.ingest.exportBatch == 200)
    }

    @Test(arguments: [
        ("[export]\nurl = \"http://analytics.example.com/in\"", "export.url"),
        ("[export]\ntoken_file = \"/x\"", "export.url"),
        ("[ingest]\ndownlink_topic = \"gw/+/down\"", "ingest.downlink_topic"),
        ("[ingest]\nraw_retention_days = 0", "ingest.raw_retention_days"),
        ("[ingest]\nkeep = 3", "ingest.keep"),
        ("[[sensors]]\ndev_eui = \"24E1\"\nvendor = \"milesight\"\nmodel = \"AM307\"\nresource = \"r\"", "sensors[0].dev_eui"),
    ])
    func badValuesNameTheirKey(text: String, key: String) {
        #expect { try parse(text) } throws: { "\($0)".contains(key) }
    }

    @Test func countingLinesOfATwoDoorRoom() throws {
        let c = try parse("""
            [[sensors]]
            dev_eui = "24E12400000A1330"
            vendor = "milesight"
            model = "VS133"
            resource = "hq/2/2.10"
            lines = [1, 2]
            [[sensors]]
            dev_eui = "24E12400000A1331"
            vendor = "milesight"
            model = "VS135"
            resource = "hq/2/2.11"
            """)
        #expect(c.sensors.map(\.lines) == [[1, 2], nil])
    }

    /// A misspelt key, a value out of range or of the wrong type, or lines on a model without
    /// them: each a load error at the file, line and key.
    @Test(arguments: [
        ("model = \"VS133\"\nline = [1, 2]", 8, "sensors[0].line", "unknown key"),
        ("model = \"VS133\"\nlines = [1, 5]", 8, "sensors[0].lines", "line 5 does not exist"),
        ("model = \"VS133\"\nlines = [0]", 8, "sensors[0].lines", "line 0 does not exist"),
        ("model = \"VS133\"\nlines = []", 8, "sensors[0].lines", "an empty list"),
        ("model = \"VS133\"\nlines = [\"one\"]", 8, "sensors[0].lines", "expected a list of line numbers"),
        ("model = \"VS133\"\nlines = 2", 8, "sensors[0].lines", "expected a list of line numbers"),
        ("model = \"AM307\"\nlines = [1]", 8, "sensors[0].lines", "only a VS133 or VS135 has counting lines"),
    ])
    func badCountingLines(tail: String, line: Int, key: String, message: String) {
        let text = "site = \"hq\"\n\n[[sensors]]\ndev_eui = \"24E12400000A1330\"\nvendor = \"milesight\"\n"
            + "resource = \"hq/2\"\n" + tail
        #expect {
            try parse(text)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.file == "/etc/fc.toml" && error.line == line && error.key == key && error.message.contains(message)
        }
    }

    @Test(arguments: [
        ("https://a.example/x", true), ("http://127.0.0.1:9000/x", true), ("http://localhost/x", true),
        ("http://10.0.0.5/x", false), ("ftp://a/x", false), ("https://", false),
    ])
    func exportURLs(url: String, accepted: Bool) {
        #expect(Configuration.isAcceptableExportURL(url) == accepted)
    }
}
