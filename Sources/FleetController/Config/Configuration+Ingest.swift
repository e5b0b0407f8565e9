import SensorIngest

/// `[[sensors]]`, `[ingest]` (subscriptions, retention, display downlinks, MQTT export) and
/// `[export]` (HTTPS analytics endpoint).
struct IngestSettings {
    var rawRetentionDays = 30.0
    var rollupRetentionDays = 400.0
    /// The gateway's downlink topic for DS3604 displays; `$deveui`/`$devEUI` take the DevEUI.
    var downlinkTopic: String?
    /// Publish every reading to `<prefix>/telemetry/<site>/<resource>/<kind>`.
    var publishTelemetry = true
    var exportURL: String?
    var exportTokenFile: String?
    var exportBatch = 500
}

extension Configuration {
    static let ingestTopLevelKeys: Set<String> = ["sensors", "ingest", "export"]
    static let ingestFormats = ["milesight-gateway", "chirpstack-v4", "tts-v3", "pressac", "irisys"]

    mutating func readIngest(_ root: TableReader) throws(ConfigError) {
        for s in try root.tables("sensors") {
            try s.allowOnly(["dev_eui", "vendor", "model", "resource", "name", "lines"])
            let vendor = try s.requiredString("vendor").lowercased()
            let id = try s.requiredString("dev_eui")
            sensors.append(Sensor(devEUI: vendor == "milesight" ? id.uppercased() : id, vendor: vendor,
                                  model: try s.requiredString("model"), resource: try s.requiredString("resource"),
                                  name: try s.string("name"), line: s.locator.line(s.path), lines: try Self.lines(s)))
        }
        if let i = try root.subtable("ingest") {
            try i.allowOnly(["subscriptions", "raw_retention_days", "rollup_retention_days", "downlink_topic",
                             "publish_telemetry"])
            for s in try i.tables("subscriptions") {
                try s.allowOnly(["topic", "format", "time_zone"])
                let zone = try s.string("time_zone")
                if let zone, LocalTimeZone(zone) == nil {
                    throw s.error("time_zone", "unknown time zone \"\(zone)\"; use a name like \"Europe/London\" or an offset like \"+01:00\"")
                }
                subscriptions.append(Subscription(topic: try s.requiredString("topic"), format: try s.requiredString("format"),
                                                  timeZone: zone))
            }
            ingest.rawRetentionDays = try i.double("raw_retention_days", default: ingest.rawRetentionDays, range: 1...3650)
            ingest.rollupRetentionDays = try i.double("rollup_retention_days", default: ingest.rollupRetentionDays,
                                                      range: 1...36500)
            ingest.downlinkTopic = try i.string("downlink_topic")
            ingest.publishTelemetry = try i.bool("publish_telemetry", default: true)
            if let t = ingest.downlinkTopic, t.isEmpty || t.contains("+") || t.contains("#") {
                throw i.error("downlink_topic", "must be a topic without wildcards, e.g. \"milesight/downlink/$deveui\"")
            }
        }
        if let e = try root.subtable("export") {
            try e.allowOnly(["url", "token_file", "batch"])
            ingest.exportURL = try e.requiredString("url")
            ingest.exportTokenFile = try e.string("token_file")
            ingest.exportBatch = try e.int("batch", default: 500, range: 1...10_000)
            if let url = ingest.exportURL, !Self.isAcceptableExportURL(url) {
                throw e.error("url", "must be https://… (plain http only to 127.0.0.1 or localhost, for a local relay)")
            }
        }
    }

    /// `lines = [1, 2]`: VS133 / VS135 counting lines, each 1…4 (the model is checked in
    /// ``validateIngest(_:)``).
    private static func lines(_ s: TableReader) throws(ConfigError) -> [Int]? {
        guard let value = s.table["lines"] else { return nil }
        guard let array = value.array else { throw s.error("lines", "expected a list of line numbers, e.g. [1, 2]") }
        var lines: [Int] = []
        for item in array {
            guard let number = item.int else { throw s.error("lines", "expected a list of line numbers, e.g. [1, 2]") }
            guard CountedLines.available.contains(number) else {
                throw s.error("lines", "line \(number) does not exist; a VS133 or VS135 counts lines 1 to 4")
            }
            lines.append(number)
        }
        guard !lines.isEmpty else { throw s.error("lines", "an empty list counts no one; list lines 1 to 4, e.g. [1, 2]") }
        return lines
    }

    /// Readings leave the building only encrypted; a loopback relay may speak plain HTTP.
    static func isAcceptableExportURL(_ url: String) -> Bool {
        if url.hasPrefix("https://") { return url.count > 8 }
        for host in ["http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://localhost/", "http://[::1]:"]
        where url.hasPrefix(host) {
            return true
        }
        return false
    }

    func validateIngest(_ root: TableReader) throws(ConfigError) {
        var ids = Set<String>()
        for (i, s) in sensors.enumerated() {
            let at = "sensors[\(i)]"
            guard ["milesight", "pressac", "irisys"].contains(s.vendor) else {
                throw root.error(at: "\(at).vendor", "unknown vendor \"\(s.vendor)\"; expected milesight, pressac or irisys")
            }
            if s.vendor == "milesight" {
                guard s.devEUI.count == 16, s.devEUI.allSatisfy(\.isHexDigit) else {
                    throw root.error(at: "\(at).dev_eui", "expected 16 hex digits, e.g. \"24E124710C123456\"")
                }
            } else if s.devEUI.isEmpty || s.devEUI.contains(where: \.isWhitespace) {
                throw root.error(at: "\(at).dev_eui", "expected the device's id (DevEUI, Pressac sensor id or Irisys serial)")
            }
            if s.lines != nil, !CountedLines.applies(to: s.model) {
                throw root.error(at: "\(at).lines", "only a VS133 or VS135 has counting lines to choose; a \(s.model) counts "
                                 + "as it is, so remove lines")
            }
            guard ids.insert(s.devEUI.uppercased()).inserted else {
                throw root.error(at: "\(at).dev_eui", "sensor \(s.devEUI) is listed twice")
            }
        }
        for (i, s) in subscriptions.enumerated() where !Self.ingestFormats.contains(s.format) {
            throw root.error(at: "ingest.subscriptions[\(i)].format",
                             "unknown format \"\(s.format)\"; expected one of \(Self.ingestFormats.joined(separator: ", "))")
        }
    }
}
