import FleetJSON
import FleetStore

/// One check-in as stored: the panel's own event id, the decision, and the delivery state.
public struct StoredCheckin: Sendable, Equatable {
    public var deviceID: String
    public var eventID: String
    public var receivedAt: Double
    /// The JSON object the cloud receives.
    public var payload: String
    public var decision: Decision.Verdict
    public var reason: Decision.Reason
    public var userID: String?
    public var deliveredAt: Double?
    public var attempts: Int
    public var lastError: String?

    /// `device:event`, unique per box; the cloud deduplicates on it if a delivery answer is lost.
    public var key: String { deviceID + ":" + eventID }
}

// The check-in outbox table.
extension DirectoryStore {
    static let checkinColumns =
        "device_id, event_id, received_at, payload, decision, reason, user_id, delivered_at, attempts, last_error"

    public func checkin(deviceID: String, eventID: String) throws(DirectoryError) -> StoredCheckin? {
        let rows = try Self.wrap("checkin") { () throws(StoreError) in
            try db.query("SELECT \(Self.checkinColumns) FROM checkins WHERE device_id = ? AND event_id = ?",
                [.text(deviceID), .text(eventID)])
        }
        return rows.compactMap(Self.checkin(from:)).first
    }

    /// Stores a new check-in; false when the (device, event) pair was already there.
    @discardableResult
    public func insertCheckin(_ c: StoredCheckin) throws(DirectoryError) -> Bool {
        try Self.wrap("insertCheckin") { () throws(StoreError) in
            try db.execute("""
                INSERT INTO checkins (device_id, event_id, received_at, payload, decision, reason, user_id)
                VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(device_id, event_id) DO NOTHING
                """, [.text(c.deviceID), .text(c.eventID), .real(c.receivedAt), .text(c.payload),
                      .text(c.decision.rawValue), .text(c.reason.rawValue), SQLValue(c.userID)])
            return db.changes == 1
        }
    }

    /// Undelivered check-ins due at `now`, oldest first.
    public func dueCheckins(now: Double, limit: Int) throws(DirectoryError) -> [StoredCheckin] {
        let rows = try Self.wrap("dueCheckins") { () throws(StoreError) in
            try db.query("""
                SELECT \(Self.checkinColumns) FROM checkins
                WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY received_at, rowid LIMIT ?
                """, [.real(now), .integer(Int64(limit))])
        }
        return rows.compactMap(Self.checkin(from:))
    }

    /// The earliest time an undelivered check-in is due; nil when none waits.
    public func nextCheckinAttempt() throws(DirectoryError) -> Double? {
        try Self.wrap("nextCheckinAttempt") { () throws(StoreError) in
            try db.queryOne("SELECT min(next_attempt_at) FROM checkins WHERE delivered_at IS NULL")?.double(0)
        }
    }

    public func pendingCheckinCount() throws(DirectoryError) -> Int {
        try Self.wrap("pendingCheckinCount") { () throws(StoreError) in
            Int(try db.queryOne("SELECT count(*) FROM checkins WHERE delivered_at IS NULL")?.int64(0) ?? 0)
        }
    }

    public func markDelivered(_ keys: [(String, String)], at now: Double) throws(DirectoryError) {
        try eachInTransaction("markDelivered", keys) { (key) throws(StoreError) in
            try db.execute("UPDATE checkins SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE device_id = ? AND event_id = ?",
                [.real(now), .text(key.0), .text(key.1)])
        }
    }

    public func markFailed(_ keys: [(String, String)], error: String, retryAt: Double) throws(DirectoryError) {
        try eachInTransaction("markFailed", keys) { (key) throws(StoreError) in
            try db.execute("UPDATE checkins SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE device_id = ? AND event_id = ?",
                [.text(error), .real(retryAt), .text(key.0), .text(key.1)])
        }
    }

    /// Deletes up to `limit` delivered check-ins delivered before `before`.
    public func purgeDeliveredCheckins(before: Double, limit: Int) throws(DirectoryError) -> Int {
        try Self.wrap("purgeDeliveredCheckins") { () throws(StoreError) in
            try db.execute("DELETE FROM checkins WHERE rowid IN (SELECT rowid FROM checkins WHERE delivered_at < ? LIMIT ?)",
                [.real(before), .integer(Int64(limit))])
            return db.changes
        }
    }

    private func eachInTransaction(
        _ operation: String, _ keys: [(String, String)], _ body: ((String, String)) throws(StoreError) -> Void
    ) throws(DirectoryError) {
        try Self.wrap(operation) { () throws(StoreError) in
            do {
                try db.transaction { for key in keys { try body(key) } }
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(resultCode: 1, message: "\(error)", operation: operation)
            }
        }
    }

    static func checkin(from row: Row) -> StoredCheckin? {
        guard let device = row.text(0), let event = row.text(1), let received = row.double(2), let payload = row.text(3),
            let decision = row.text(4).flatMap(Decision.Verdict.init(rawValue:)),
            let reason = row.text(5).flatMap(Decision.Reason.init(rawValue:))
        else { return nil }
        return StoredCheckin(deviceID: device, eventID: event, receivedAt: received, payload: payload, decision: decision,
            reason: reason, userID: row.text(6), deliveredAt: row.double(7), attempts: Int(row.int64(8) ?? 0),
            lastError: row.text(9))
    }
}
