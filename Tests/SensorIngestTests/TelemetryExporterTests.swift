import FleetJSON
import FleetLoop
import FleetTestSupport
import Testing

@testable import SensorIngest

/// An analytics endpoint stand-in on FleetLoop.HTTPServer: takes NDJSON batches with a bearer
/// token, keeps every line's id, and can be told to fail.
final class AnalyticsStandIn {
    var server: HTTPServer?
    var failing = false
    var ids: [String] = []
    var batches = 0
    var refused = 0
    let token: String

    init(reactor: Reactor, token: String) throws {
        self.token = token
        server = try HTTPServer(reactor: reactor, host: "127.0.0.1", port: 0) { [unowned self] req in self.handle(req) }
    }

    var url: String { "http://127.0.0.1:\(server?.port ?? 0)/ingest" }

    private func handle(_ req: HTTPServerRequest) -> HTTPServerResponse {
        guard req.method == "POST", req.path == "/ingest" else { return HTTPServerResponse(status: 404, headers: [], body: []) }
        guard req.header("authorization") == "Bearer \(token)" else { return HTTPServerResponse(status: 401, headers: [], body: []) }
        if failing {
            refused += 1
            return HTTPServerResponse(status: 503, headers: [], body: Array("maintenance".utf8))
        }
        batches += 1
        for line in req.body.split(separator: 0x0A) {
            guard let object = try? JSON.parse(Array(line)), let id = object["id"]?.string else {
                return HTTPServerResponse(status: 400, headers: [], body: Array("bad line".utf8))
            }
            ids.append(id)
        }
        return HTTPServerResponse(status: 202, headers: [], body: [])
    }
}

@Suite struct TelemetryExporterTests {
    let directory = TemporaryDirectory()

    func readings(_ n: Int, from start: Int) -> [Reading] {
        (start..<start + n).map { i in
            Reading(sensor: "S1", resource: "hq/1", kind: .co2, value: Double(i), unit: "ppm",
                    timestamp: 1_800_000_000 + Double(i), receivedAt: 1_800_000_000 + Double(i))
        }
    }

    @Test func endpointDownThenBackAcrossARestartLosesAndRepeatsNothing() throws {
        let reactor = try Reactor()
        let standIn = try AnalyticsStandIn(reactor: reactor, token: "s3cret")
        let logs = CapturedLogs()
        var settings = TelemetryExporter.Settings(url: standIn.url, token: "s3cret", site: "hq")
        settings.batchSize = 40
        settings.minBackoff = 0.02
        settings.maxBackoff = 0.05

        let path = directory.path + "/telemetry.sqlite"
        do {
            let store = try TelemetryStore(path: path)
            try store.append(readings(5, from: 0))  // before the export was configured: not sent
            let exporter = TelemetryExporter(store: store, http: HTTPClient(reactor: reactor), reactor: reactor,
                                             settings: settings, logger: logs.logger)
            try exporter.start()
            try store.append(readings(100, from: 5))
            exporter.kick()
            #expect(try reactor.run(until: { exporter.stats.readingsSent == 100 }))
            #expect(exporter.stats.batchesSent == 3)

            standIn.failing = true
            try store.append(readings(50, from: 105))
            exporter.kick()
            #expect(try reactor.run(until: { exporter.stats.consecutiveFailures >= 3 }))
            #expect(exporter.stats.consecutiveFailures >= 3)
            #expect(exporter.backlog == 50)
            #expect(logs.count(containing: "export failed") == 1)
            exporter.stop()
        }
        // Restart while the endpoint is still down; more readings arrive meanwhile.
        let store = try TelemetryStore(path: path)
        try store.append(readings(30, from: 155))
        let exporter = TelemetryExporter(store: store, http: HTTPClient(reactor: reactor), reactor: reactor,
                                         settings: settings, logger: logs.logger)
        try exporter.start()
        #expect(try reactor.run(until: { exporter.stats.failures >= 2 }))
        standIn.failing = false
        #expect(try reactor.run(until: { exporter.stats.readingsSent == 80 }))

        #expect(standIn.ids.count == 180)
        #expect(Set(standIn.ids).count == 180)
        let instance = try store.instanceID()
        #expect(standIn.ids.first == "\(instance)-6")
        #expect(standIn.ids.last == "\(instance)-185")
        #expect(exporter.stats.consecutiveFailures == 0)
    }

    @Test func unreachableEndpointIsRetriedNotDropped() throws {
        let reactor = try Reactor()
        let store = try TelemetryStore(path: directory.path + "/telemetry.sqlite")
        var settings = TelemetryExporter.Settings(url: "http://127.0.0.1:\(try freeTCPPort())/ingest", token: nil, site: "hq")
        settings.minBackoff = 0.01
        settings.maxBackoff = 0.02
        let exporter = TelemetryExporter(store: store, http: HTTPClient(reactor: reactor), reactor: reactor,
                                         settings: settings, logger: CapturedLogs().logger)
        try exporter.start()
        try store.append(readings(3, from: 0))
        exporter.kick()
        #expect(try reactor.run(until: { exporter.stats.failures >= 3 }))
        #expect(exporter.backlog == 3)
        #expect(exporter.stats.lastError?.contains("127.0.0.1") == true)
        exporter.stop()
    }
}
