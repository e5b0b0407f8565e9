import FleetJSON
import FleetLoop
import Logging

/// What a panel gets back for a check-in.
public struct CheckinReceipt: Sendable {
    public var eventID: String
    public var decision: Decision
    /// Stored in the outbox (allowed check-ins only); the cloud will get it.
    public var stored: Bool
    /// The panel sent this event before (a retry): the first answer again, nothing stored twice.
    public var duplicate: Bool

    /// The decision's JSON plus `event_id`, `stored` and `duplicate`.
    public func json() -> JSON {
        var out = decision.json().object ?? JSONObject()
        out["event_id"] = JSON(eventID)
        out["stored"] = .bool(stored)
        out["duplicate"] = .bool(duplicate)
        return .object(out)
    }
}

extension DirectoryCache {
    /// A panel's check-in: decided like `authorize`, stored (when allowed) before this returns so
    /// the reply can promise delivery, and idempotent on the panel's `eventID`: a retry gets the
    /// first answer and stores nothing. A store failure throws: the panel gets an error and
    /// retries, nothing was acknowledged.
    public func checkin(
        deviceID: String, eventID: String, credential: Credential, action: Action = .checkin,
        occurredAt: Double? = nil, devices: (String) -> DeviceContext?
    ) throws(DirectoryError) -> CheckinReceipt {
        guard (1...128).contains(eventID.utf8.count), eventID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw DirectoryError(.invalidValue, column: "event_id",
                reason: "event_id must be 1 to 128 printable ASCII characters without blanks, made by the panel once per check-in")
        }
        if let earlier = try store.checkin(deviceID: deviceID, eventID: eventID) {
            let user = earlier.userID.flatMap { try? store.user(id: $0) }
            let decision = Decision(decision: earlier.decision, reason: earlier.reason, user: user, role: user?.role,
                cacheAge: cacheAge)
            return CheckinReceipt(eventID: eventID, decision: decision, stored: true, duplicate: true)
        }
        let decision = authorize(credential: credential, deviceID: deviceID, action: action, devices: devices)
        guard decision.isAllowed, let user = decision.user else {
            return CheckinReceipt(eventID: eventID, decision: decision, stored: false, duplicate: false)
        }
        let now = clock.unixTime
        let payload: JSON = [
            "id": JSON(deviceID + ":" + eventID), "event_id": JSON(eventID), "device_id": JSON(deviceID),
            "resource": JSON(devices(deviceID)?.resource), "user_id": JSON(user.id), "email": JSON(user.email),
            "display_name": JSON(user.displayName), "role": JSON(user.role?.rawValue), "action": JSON(action.rawValue),
            "occurred_at": JSON(occurredAt ?? now), "received_at": JSON(now),
        ]
        let row = StoredCheckin(deviceID: deviceID, eventID: eventID, receivedAt: now, payload: payload.serialized(),
            decision: decision.decision, reason: decision.reason, userID: user.id, deliveredAt: nil, attempts: 0,
            lastError: nil)
        try store.insertCheckin(row)
        checkinStored?()
        return CheckinReceipt(eventID: eventID, decision: decision, stored: true, duplicate: false)
    }
}

/// Sends stored check-ins to the cloud endpoint (`[directory] checkin_url`, bearer token from
/// `checkin_token_file`) through libcurl on the loop, in batches, oldest first.
///
/// Exactly once from this side: a check-in is marked delivered only after a 2xx and is never
/// sent again after that; until then it survives restarts and outages in `directory.sqlite` and
/// is retried with backoff. Each event carries `id` = `device:event` so the cloud can drop a
/// repeat if an answer was lost on the way back.
public final class CheckinOutbox {
    public struct Settings: Sendable, Equatable {
        public var url: String?
        public var tokenFile: String?
        public var batch = 100
        public var baseDelay: Duration = .seconds(1)
        public var maxDelay: Duration = .seconds(300)
        public var timeout: Duration = .seconds(15)

        public init(url: String?, tokenFile: String?) {
            self.url = url
            self.tokenFile = tokenFile
        }
    }

    let store: DirectoryStore
    let reactor: Reactor
    let http: HTTPClient
    let logger: Logger
    public var settings: Settings
    var random: () -> Double = { Double.random(in: 0..<1) }
    private var inFlight = false
    private var timer: TimerID?
    private var failing = false
    public private(set) var delivered = 0
    public private(set) var failedAttempts = 0

    deinit { if let timer { reactor.cancel(timer) } }

    public init(store: DirectoryStore, reactor: Reactor, http: HTTPClient, logger: Logger, settings: Settings) {
        self.store = store
        self.reactor = reactor
        self.http = http
        self.logger = logger
        self.settings = settings
    }

    /// Sends what is due now (one batch at a time); arms a timer for the next retry otherwise.
    public func kick() {
        guard !inFlight, let url = settings.url else { return }
        let now = reactor.clock.unixTime
        guard let due = try? store.dueCheckins(now: now, limit: settings.batch), !due.isEmpty else { return arm() }
        var headers = [("Content-Type", "application/json"), ("Accept", "application/json")]
        if let file = settings.tokenFile {
            guard let raw = try? readWholeFile(file, label: "checkin_token_file", maxBytes: 64 << 10) else {
                return failed(due, "cannot read checkin_token_file \(file)", retryAfter: nil)
            }
            headers.append(("Authorization", "Bearer " + Person.trimmed(String(decoding: raw, as: UTF8.self))))
        }
        let body = "{\"checkins\":[" + due.map(\.payload).joined(separator: ",") + "]}"
        inFlight = true
        http.send(HTTPRequest(method: "POST", url: url, headers: headers, body: Array(body.utf8), timeout: settings.timeout)) {
            [self] result in
            inFlight = false
            switch result {
            case .success(let response) where (200..<300).contains(response.status):
                do throws(DirectoryError) {
                    try store.markDelivered(due.map { ($0.deviceID, $0.eventID) }, at: reactor.clock.unixTime)
                } catch {
                    logger.error("check-ins delivered but not marked; they will be sent again", metadata: ["error": "\(error)"])
                    return arm()
                }
                delivered += due.count
                if failing {
                    failing = false
                    logger.info("check-in delivery works again", metadata: ["url": "\(url)"])
                }
                kick()
            case .success(let response):
                failed(due, "the endpoint answered \(response.status)", retryAfter: response.header("Retry-After"))
            case .failure(let error):
                failed(due, "cannot reach \(URLText.host(url)): \(error.message)", retryAfter: nil)
            }
        }
    }

    private func failed(_ due: [StoredCheckin], _ reason: String, retryAfter: String?) {
        failedAttempts += 1
        let attempt = (due.map(\.attempts).min() ?? 0) + 1
        let policy = RetryPolicy(maxAttempts: .max, baseDelay: settings.baseDelay, maxDelay: settings.maxDelay)
        let wait = policy.delay(afterAttempt: min(attempt, 30), retryAfter: retryAfter, unit: random()) ?? settings.maxDelay
        try? store.markFailed(due.map { ($0.deviceID, $0.eventID) }, error: reason,
                              retryAt: reactor.clock.unixTime + wait.seconds)
        if !failing {
            failing = true
            logger.warning("check-ins cannot be delivered yet; kept and retried", metadata: [
                "reason": "\(reason)", "waiting": "\((try? store.pendingCheckinCount()) ?? 0)",
            ])
        }
        arm()
    }

    /// One timer for the earliest retry.
    private func arm() {
        if let timer { reactor.cancel(timer) }
        timer = nil
        guard settings.url != nil, let next = try? store.nextCheckinAttempt() else { return }
        let wait = max(0, next - reactor.clock.unixTime)
        timer = reactor.schedule(after: .milliseconds(Int64(wait * 1000) + 1)) { [weak self] in
            self?.timer = nil
            self?.kick()
        }
    }
}

@available(*, unavailable) extension CheckinOutbox: Sendable {}
