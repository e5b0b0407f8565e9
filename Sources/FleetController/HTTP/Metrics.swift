/// Prometheus text exposition, written by the daemon and each feature at scrape time; no metrics
/// library sits on the hot path.
struct MetricsWriter {
    private(set) var text = ""

    mutating func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Double)]) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        for (labels, value) in samples {
            let v = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            text += "\(name)\(labels) \(v)\n"
        }
    }

    mutating func gauge(_ name: String, _ help: String, _ value: Double) { metric(name, "gauge", help, [("", value)]) }
    mutating func counter(_ name: String, _ help: String, _ value: Double) { metric(name, "counter", help, [("", value)]) }
}

enum FleetControllerVersion {
    static let string = "0.1.0"
}
