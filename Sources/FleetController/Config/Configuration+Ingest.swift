/// `[[sensors]]` and `[[ingest.subscriptions]]`.
extension Configuration {
    static let ingestTopLevelKeys: Set<String> = ["sensors", "ingest"]
    static let ingestFormats = ["milesight-gateway", "chirpstack-v4", "tts-v3"]

    mutating func readIngest(_ root: TableReader) throws(ConfigError) {
        for s in try root.tables("sensors") {
            try s.allowOnly(["dev_eui", "vendor", "model", "resource"])
            sensors.append(Sensor(devEUI: try s.requiredString("dev_eui").uppercased(),
                                  vendor: try s.requiredString("vendor").lowercased(),
                                  model: try s.requiredString("model"), resource: try s.requiredString("resource"),
                                  line: s.locator.line(s.path)))
        }
        if let i = try root.subtable("ingest") {
            try i.allowOnly(["subscriptions"])
            for s in try i.tables("subscriptions") {
                try s.allowOnly(["topic", "format"])
                subscriptions.append(Subscription(topic: try s.requiredString("topic"), format: try s.requiredString("format")))
            }
        }
    }

    func validateIngest(_ root: TableReader) throws(ConfigError) {
        var euis = Set<String>()
        for (i, s) in sensors.enumerated() {
            let at = "sensors[\(i)]"
            guard s.devEUI.count == 16, s.devEUI.allSatisfy(\.isHexDigit) else {
                throw root.error(at: "\(at).dev_eui", "expected 16 hex digits, e.g. \"24E124710C123456\"")
            }
            guard euis.insert(s.devEUI).inserted else { throw root.error(at: "\(at).dev_eui", "sensor \(s.devEUI) is listed twice") }
            guard ["milesight", "pressac", "irisys"].contains(s.vendor) else {
                throw root.error(at: "\(at).vendor", "unknown vendor \"\(s.vendor)\"; expected milesight, pressac or irisys")
            }
        }
        for (i, s) in subscriptions.enumerated() where !Self.ingestFormats.contains(s.format) {
            throw root.error(at: "ingest.subscriptions[\(i)].format",
                             "unknown format \"\(s.format)\"; expected one of \(Self.ingestFormats.joined(separator: ", "))")
        }
    }
}
