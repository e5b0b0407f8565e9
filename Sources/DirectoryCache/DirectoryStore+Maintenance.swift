import FleetJSON
import FleetStore

/// One thing an admin did to a person, as `GET /api/v1/audit?kind=admin` lists it.
public struct AdminAuditEntry: Sendable, Equatable {
    public var id: Int64?
    public var ts: Double
    /// block | allow | restore | purge | purge_inactive
    public var action: String
    public var userID: String?
    public var detail: String

    public init(id: Int64? = nil, ts: Double, action: String, userID: String?, detail: String) {
        self.id = id
        self.ts = ts
        self.action = action
        self.userID = userID
        self.detail = detail
    }

    public func json() -> JSON {
        ["id": id.map { JSON(Int($0)) } ?? .null, "ts": JSON(ts), "action": JSON(action), "user_id": JSON(userID),
         "detail": JSON(detail)]
    }
}

// Admin audit, deleting people, retention slices.
extension DirectoryStore {
    public func appendAdminAudit(_ entry: AdminAuditEntry) throws(DirectoryError) {
        try Self.wrap("appendAdminAudit") { () throws(StoreError) in
            try db.execute("INSERT INTO admin_audit (ts, action, user_id, detail) VALUES (?, ?, ?, ?)",
                [.real(entry.ts), .text(entry.action), SQLValue(entry.userID), .text(entry.detail)])
        }
    }

    /// Appends decisions in one transaction.
    public func appendAudit(_ entries: [AuditEntry]) throws(DirectoryError) {
        try Self.wrap("appendAudit") { () throws(StoreError) in
            do {
                try db.transaction {
                    for entry in entries {
                        try db.execute("""
                            INSERT INTO audit (ts, device_id, credential_type, credential_hash, user_id, decision, reason)
                            VALUES (?, ?, ?, ?, ?, ?, ?)
                            """, [
                                .real(entry.ts), SQLValue(entry.deviceID), .text(entry.credentialType.rawValue),
                                .text(entry.credentialHash), SQLValue(entry.userID), .text(entry.decision.rawValue),
                                .text(entry.reason.rawValue),
                            ])
                    }
                }
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(resultCode: 1, message: "\(error)", operation: "appendAudit")
            }
        }
    }

    /// Newest first.
    public func adminAudit(limit: Int = 100) throws(DirectoryError) -> [AdminAuditEntry] {
        let rows = try Self.wrap("adminAudit") { () throws(StoreError) in
            try db.query("SELECT id, ts, action, user_id, detail FROM admin_audit ORDER BY id DESC LIMIT ?",
                [.integer(Int64(min(max(limit, 1), 10_000)))])
        }
        return rows.compactMap { row in
            guard let id = row.int64(0), let ts = row.double(1), let action = row.text(2) else { return nil }
            return AdminAuditEntry(id: id, ts: ts, action: action, userID: row.text(3), detail: row.text(4) ?? "")
        }
    }

    /// Deletes a person with their overrides (audit rows stay, they name the id only).
    @discardableResult
    public func deleteUser(id: String) throws(DirectoryError) -> Bool {
        try Self.wrap("deleteUser") { () throws(StoreError) in
            try db.execute("DELETE FROM overrides WHERE user_id = ?", [.text(id)])
            try db.execute("DELETE FROM users WHERE id = ?", [.text(id)])
            return db.changes > 0
        }
    }

    /// Deletes up to `limit` people inactive since before `before`, except those an `allow`
    /// override still lets in; returns how many went.
    public func purgeInactive(before: Double, now: Double, limit: Int) throws(DirectoryError) -> Int {
        try Self.wrap("purgeInactive") { () throws(StoreError) in
            let victims = "SELECT id FROM users WHERE active = 0 AND deactivated_at IS NOT NULL AND deactivated_at < ?1 AND id NOT IN (SELECT user_id FROM overrides WHERE kind = 'allow' AND (until IS NULL OR until > ?2)) LIMIT ?3"
            let args: [SQLValue] = [.real(before), .real(now), .integer(Int64(limit))]
            do {
                return try db.transaction {
                    try db.execute("DELETE FROM overrides WHERE user_id IN (\(victims))", args)
                    try db.execute("DELETE FROM users WHERE id IN (\(victims))", args)
                    return db.changes
                }
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(resultCode: 1, message: "\(error)", operation: "purgeInactive")
            }
        }
    }

    /// Deletes up to `limit` decision rows and `limit` admin rows older than `before`.
    public func purgeAudit(before: Double, limit: Int) throws(DirectoryError) -> Int {
        try Self.wrap("purgeAudit") { () throws(StoreError) in
            try db.execute("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE ts < ? ORDER BY ts LIMIT ?)",
                [.real(before), .integer(Int64(limit))])
            var n = db.changes
            try db.execute("DELETE FROM admin_audit WHERE id IN (SELECT id FROM admin_audit WHERE ts < ? ORDER BY id LIMIT ?)",
                [.real(before), .integer(Int64(limit))])
            n += db.changes
            return n
        }
    }

    /// Deletes overrides that ended before `now`.
    public func purgeExpiredOverrides(now: Double) throws(DirectoryError) -> Int {
        try Self.wrap("purgeExpiredOverrides") { () throws(StoreError) in
            try db.execute("DELETE FROM overrides WHERE until IS NOT NULL AND until <= ?", [.real(now)])
            return db.changes
        }
    }
}

extension AuditEntry {
    /// `{"id","ts","device_id","credential_type","credential_hash","user_id","decision","reason"}`.
    public func json() -> JSON {
        ["id": id.map { JSON(Int($0)) } ?? .null, "ts": JSON(ts), "device_id": JSON(deviceID),
         "credential_type": JSON(credentialType.rawValue), "credential_hash": JSON(credentialHash),
         "user_id": JSON(userID), "decision": JSON(decision.rawValue), "reason": JSON(reason.rawValue)]
    }
}

extension Override {
    public func json() -> JSON {
        ["id": id.map { JSON(Int($0)) } ?? .null, "kind": JSON(kind.rawValue), "until": until.map { JSON($0) } ?? .null,
         "created_at": JSON(createdAt), "note": JSON(note)]
    }
}
