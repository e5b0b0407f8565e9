import FleetJSON
import FleetLoop
import FleetStore
import Logging

/// Posts every stored reading to an analytics endpoint as NDJSON batches, one line per reading
/// with a stable id (`<database instance>-<row id>`).
///
/// The outbox is the readings table itself, read after a cursor kept in `telemetry.sqlite`: the
/// cursor moves only when the endpoint answered 2xx for a batch, and it moves in the same
/// database the readings live in, so a restart resumes after the last confirmed batch and a
/// confirmed reading is never posted again. A failure retries the same batch with exponential
/// backoff. Loop-bound.
public final class TelemetryExporter {
    public struct Settings: Sendable {
        public var url: String
        /// Sent as `Authorization: Bearer …` when set.
        public var token: String?
        public var site: String
        public var batchSize = 500
        public var minBackoff = 1.0
        public var maxBackoff = 300.0
        public var timeout: Duration = .seconds(30)
        /// The cursor's name; one per endpoint.
        public var sink = "http"

        public init(url: String, token: String?, site: String) {
            self.url = url
            self.token = token
            self.site = site
        }
    }

    public struct Stats: Equatable, Sendable {
        public var readingsSent = 0
        public var batchesSent = 0
        public var failures = 0
        public var consecutiveFailures = 0
        public var lastError: String?
    }

    public private(set) var stats = Stats()
    private let store: TelemetryStore
    private let http: HTTPClient
    private let reactor: Reactor
    private let settings: Settings
    private let logger: Logger
    private var cursor: Int64 = 0
    private var instance = ""
    private var inFlight = false
    private var retry: TimerID?
    private var stopped = false

    public init(store: TelemetryStore, http: HTTPClient, reactor: Reactor, settings: Settings, logger: Logger) {
        self.store = store
        self.http = http
        self.reactor = reactor
        self.settings = settings
        self.logger = logger
    }

    /// Loads the cursor (a new sink starts after the newest stored reading: history from before
    /// the export was configured is not sent) and sends what waits.
    public func start() throws(StoreError) {
        instance = try store.instanceID()
        if let saved = try store.exportCursor(sink: settings.sink) {
            cursor = saved
        } else {
            cursor = try store.lastReadingID()
            try store.setExportCursor(sink: settings.sink, lastID: cursor)
        }
        kick()
    }

    public func stop() {
        stopped = true
        if let retry { reactor.cancel(retry) }
    }

    /// Readings were stored: send unless a batch is out or a retry is waiting.
    public func kick() {
        guard !stopped, !inFlight, retry == nil else { return }
        sendNext()
    }

    /// Readings not yet confirmed by the endpoint.
    public var backlog: Int { (try? store.backlog(after: cursor)) ?? 0 }

    private func sendNext() {
        let batch: [StoredReading]
        do {
            batch = try store.readings(after: cursor, limit: settings.batchSize)
        } catch {
            fail("cannot read the outbox: \(error)")
            return
        }
        guard let last = batch.last?.id else { return }
        var body: [UInt8] = []
        body.reserveCapacity(batch.count * 200)
        for stored in batch {
            body += line(stored).bytes
            body.append(0x0A)
        }
        var headers = [("Content-Type", "application/x-ndjson")]
        if let token = settings.token { headers.append(("Authorization", "Bearer \(token)")) }
        inFlight = true
        http.send(HTTPRequest(method: "POST", url: settings.url, headers: headers, body: body, timeout: settings.timeout)) {
            [weak self] result in
            guard let self else { return }
            self.inFlight = false
            switch result {
            case .success(let response) where (200..<300).contains(response.status):
                self.confirmed(through: last, count: batch.count)
            case .success(let response):
                self.fail("HTTP \(response.status): \(String(response.text.prefix(200)))")
            case .failure(let error):
                self.fail("\(error)")
            }
        }
    }

    private func confirmed(through last: Int64, count: Int) {
        do {
            try store.setExportCursor(sink: settings.sink, lastID: last)
        } catch {
            // The endpoint has the batch; sending it again is the lesser harm, and ids let it
            // drop the copies. Keep going from memory and try to persist with the next batch.
            logger.error("cannot store the export cursor", metadata: ["error": "\(error)"])
        }
        cursor = last
        stats.readingsSent += count
        stats.batchesSent += 1
        if stats.consecutiveFailures > 0 {
            logger.notice("export endpoint reachable again", metadata: ["url": "\(settings.url)"])
        }
        stats.consecutiveFailures = 0
        stats.lastError = nil
        // Next batch on the next tick, so a long backlog never holds one tick.
        retry = reactor.schedule(after: .zero) { [weak self] in
            self?.retry = nil
            self?.kick()
        }
    }

    private func fail(_ reason: String) {
        stats.failures += 1
        stats.consecutiveFailures += 1
        stats.lastError = reason
        if stats.consecutiveFailures == 1 {
            logger.warning(
                "export failed; retrying with backoff, nothing is lost", metadata: ["url": "\(settings.url)", "error": "\(reason)"])
        }
        let exponent = Double(min(stats.consecutiveFailures - 1, 30))
        let delay = min(settings.maxBackoff, settings.minBackoff * pow2(exponent))
        retry = reactor.schedule(after: .milliseconds(Int64(delay * 1000))) { [weak self] in
            self?.retry = nil
            self?.kick()
        }
    }

    private func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        for _ in 0..<Int(exponent) { value *= 2 }
        return value
    }

    private func line(_ stored: StoredReading) -> JSON {
        let r = stored.reading
        return [
            "id": .string("\(instance)-\(stored.id)"), "site": .string(settings.site), "sensor": .string(r.sensor),
            "resource": .string(r.resource), "kind": .string(r.kind.rawValue), "value": .number(r.value),
            "unit": .string(r.unit), "timestamp": .number(r.timestamp), "received_at": .number(r.receivedAt),
        ]
    }
}

@available(*, unavailable) extension TelemetryExporter: Sendable {}
