import CFleetShims
import FleetLoop

/// `/metrics` in the Prometheus text format. Counters are read from the modules at scrape time; no
/// metrics library sits on the hot path.
struct Metrics {
    let daemon: Daemon

    func render() -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples {
                let v = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
                out += "\(name)\(labels) \(v)\n"
            }
        }
        let d = daemon
        let m = d.mqtt.stats
        metric("fleet_broker_connected", "gauge", "1 while connected to the broker.", [("", d.mqtt.isConnected ? 1 : 0)])
        metric("fleet_mqtt_messages_received_total", "counter", "Messages received from the broker.", [("", Double(m.received))])
        metric("fleet_mqtt_messages_published_total", "counter", "Messages handed to the broker.", [("", Double(m.published))])
        metric("fleet_mqtt_messages_dropped_total", "counter", "Outgoing messages dropped (queue full).", [("", Double(m.dropped))])
        metric("fleet_mqtt_connects_total", "counter", "Successful broker connections.", [("", Double(m.connects))])
        metric("fleet_device_requests_total", "counter", "Device requests by outcome.",
               [("{outcome=\"answered\"}", Double(d.router.answered)), ("{outcome=\"rejected\"}", Double(d.router.rejected))])
        let c = d.ingest.counters
        metric("fleet_ingest_messages_total", "counter", "Sensor messages by outcome.", [
            ("{outcome=\"received\"}", Double(c.received)), ("{outcome=\"duplicate\"}", Double(c.duplicates)),
            ("{outcome=\"dead_letter\"}", Double(c.deadLettered)), ("{outcome=\"unknown_device\"}", Double(c.unknownDevice)),
            ("{outcome=\"oversized\"}", Double(c.oversized)),
        ])
        metric("fleet_ingest_readings_stored_total", "counter", "Readings written to telemetry.sqlite.", [("", Double(c.stored))])
        metric("fleet_loop_lag_seconds", "summary", "How late the event loop ran its timers.", [
            ("{quantile=\"0.5\"}", d.reactor.lag.quantileMS(0.5) / 1000), ("{quantile=\"0.99\"}", d.reactor.lag.quantileMS(0.99) / 1000),
            ("{quantile=\"1\"}", d.reactor.lag.maxMS / 1000),
        ])
        if let age = d.directory.cacheAge {
            metric("fleet_directory_cache_age_seconds", "gauge", "Seconds since the stalest source last synced.", [("", age)])
        }
        metric("fleet_http_requests_total", "counter", "HTTP requests served.", [("", Double(d.http?.requestsServed ?? 0))])
        let (rss, threads) = Self.processStats()
        metric("fleet_process_resident_memory_bytes", "gauge", "Resident set size.", [("", rss)])
        metric("fleet_process_threads", "gauge", "Threads in the process (one event loop: 1).", [("", threads)])
        return out
    }

    /// RSS and thread count from /proc/self/status.
    static func processStats() -> (rss: Double, threads: Double) {
        guard let text = try? readTextFile("/proc/self/status") else { return (0, 0) }
        var rss = 0.0, threads = 0.0
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("VmRSS:"), fields.count >= 2 { rss = (Double(fields[1]) ?? 0) * 1024 }
            if line.hasPrefix("Threads:"), fields.count >= 2 { threads = Double(fields[1]) ?? 0 }
        }
        return (rss, threads)
    }
}

enum FleetControllerVersion {
    static let string = "0.1.0"
}
