import FleetJSON
import FleetStore

// Sync runs, the audit log, overrides and the meta table.
extension DirectoryStore {
    // MARK: - Sync runs

    /// Inserts `run` (when its id is nil) or updates the recorded run with its id; returns the id.
    @discardableResult
    public func recordRun(_ run: SyncRun) throws(DirectoryError) -> Int64 {
        let values: [SQLValue] = [
            .text(run.source), .text(run.status.rawValue), SQLValue(run.reason), .real(run.startedAt),
            SQLValue(run.finishedAt), .text(run.counts.serialized()),
        ]
        return try Self.wrap("recordRun") { () throws(StoreError) in
            if let id = run.id {
                try db.execute("""
                    UPDATE sync_runs SET source = ?, status = ?, reason = ?, started_at = ?, finished_at = ?, counts = ?
                    WHERE id = ?
                    """, values + [.integer(id)])
                return id
            }
            try db.execute(
                "INSERT INTO sync_runs (source, status, reason, started_at, finished_at, counts) VALUES (?, ?, ?, ?, ?, ?)",
                values)
            return db.lastInsertRowID
        }
    }

    /// One run by id.
    public func run(id: Int64) throws(DirectoryError) -> SyncRun? {
        let rows = try Self.wrap("run") { () throws(StoreError) in
            try db.query("SELECT id, source, status, reason, started_at, finished_at, counts FROM sync_runs WHERE id = ?",
                [.integer(id)])
        }
        return rows.compactMap(Self.syncRun(from:)).first
    }

    /// The newest runs first, of one source or all.
    public func runs(limit: Int = 50, source: String? = nil) throws(DirectoryError) -> [SyncRun] {
        let bounded = Int64(min(max(limit, 1), 1000))
        let rows = try Self.wrap("runs") { () throws(StoreError) in
            let columns = "id, source, status, reason, started_at, finished_at, counts"
            return if let source {
                try db.query("SELECT \(columns) FROM sync_runs WHERE source = ? ORDER BY id DESC LIMIT ?",
                    [.text(source), .integer(bounded)])
            } else {
                try db.query("SELECT \(columns) FROM sync_runs ORDER BY id DESC LIMIT ?", [.integer(bounded)])
            }
        }
        return rows.compactMap(Self.syncRun(from:))
    }

    static func syncRun(from row: Row) -> SyncRun? {
        guard let id = row.int64(0), let source = row.text(1),
            let status = row.text(2).flatMap(SyncRun.Status.init(rawValue:)), let startedAt = row.double(4)
        else { return nil }
        let counts = row.text(6).flatMap { try? JSON.parse($0) } ?? [:]
        return SyncRun(id: id, source: source, status: status, reason: row.text(3), startedAt: startedAt,
            finishedAt: row.double(5), counts: counts)
    }

    // MARK: - Last successful sync

    static func lastSyncKey(_ source: String) -> String { "last_sync:" + source }
    static func deltaKey(_ source: String) -> String { "delta:" + source }

    /// Where the source's next delta round starts; nil before its first full read.
    public func deltaLink(source: String) throws(DirectoryError) -> String? { try meta(Self.deltaKey(source)) }

    /// Forgets the delta start (an expired token): the next run reads everything.
    public func clearDeltaLink(source: String) throws(DirectoryError) {
        try Self.wrap("clearDeltaLink") { () throws(StoreError) in
            try db.execute("DELETE FROM meta WHERE key = ?", [.text(Self.deltaKey(source))])
        }
    }

    /// Unix time of the source's last applied sync; nil if it never succeeded.
    public func lastSuccessfulSync(source: String) throws(DirectoryError) -> Double? {
        try meta(Self.lastSyncKey(source)).flatMap(Double.init)
    }

    /// Last successful sync time of every source that ever succeeded.
    public func lastSuccessfulSyncs() throws(DirectoryError) -> [String: Double] {
        let rows = try Self.wrap("lastSuccessfulSyncs") { () throws(StoreError) in
            try db.query("SELECT key, value FROM meta WHERE key LIKE 'last\\_sync:%' ESCAPE '\\'")
        }
        var result: [String: Double] = [:]
        for row in rows {
            guard let key = row.text(0), let value = row.text(1).flatMap(Double.init) else { continue }
            result[String(key.dropFirst("last_sync:".count))] = value
        }
        return result
    }

    // MARK: - Audit

    public func appendAudit(_ entry: AuditEntry) throws(DirectoryError) {
        try Self.wrap("appendAudit") { () throws(StoreError) in
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

    /// The newest audit rows first.
    public func audit(limit: Int = 100) throws(DirectoryError) -> [AuditEntry] {
        let rows = try Self.wrap("audit") { () throws(StoreError) in
            try db.query("""
                SELECT id, ts, device_id, credential_type, credential_hash, user_id, decision, reason
                FROM audit ORDER BY id DESC LIMIT ?
                """, [.integer(Int64(min(max(limit, 1), 10_000)))])
        }
        return rows.compactMap { row in
            guard let id = row.int64(0), let ts = row.double(1),
                let type = row.text(3).flatMap(Credential.Kind.init(rawValue:)), let hash = row.text(4),
                let decision = row.text(6).flatMap(Decision.Verdict.init(rawValue:)),
                let reason = row.text(7).flatMap(Decision.Reason.init(rawValue:))
            else { return nil }
            return AuditEntry(id: id, ts: ts, deviceID: row.text(2), credentialType: type, credentialHash: hash,
                userID: row.text(5), decision: decision, reason: reason)
        }
    }

    /// The audit hash of a credential: hex SHA-256 of salt, type and normalized value.
    public func credentialHash(_ credential: Credential) -> String {
        Sha256.hex(auditSalt + "\u{0}" + credential.type.rawValue + "\u{0}" + credential.normalizedValue)
    }

    // MARK: - Overrides

    /// Records an override; returns its id. The user must exist.
    @discardableResult
    public func addOverride(_ override: Override) throws(DirectoryError) -> Int64 {
        try Self.wrap("addOverride") { () throws(StoreError) in
            try db.execute("INSERT INTO overrides (user_id, kind, until, created_at, note) VALUES (?, ?, ?, ?, ?)", [
                .text(override.userID), .text(override.kind.rawValue), SQLValue(override.until),
                .real(override.createdAt), SQLValue(override.note),
            ])
            return db.lastInsertRowID
        }
    }

    /// Every override of a user, expired ones included (the authorizer checks expiry).
    public func overrides(userID: String) throws(DirectoryError) -> [Override] {
        let rows = try Self.wrap("overrides") { () throws(StoreError) in
            try db.query("SELECT id, user_id, kind, until, created_at, note FROM overrides WHERE user_id = ? ORDER BY id",
                [.text(userID)])
        }
        return rows.compactMap { row in
            guard let id = row.int64(0), let user = row.text(1),
                let kind = row.text(2).flatMap(Override.Kind.init(rawValue:)), let createdAt = row.double(4)
            else { return nil }
            return Override(id: id, userID: user, kind: kind, until: row.double(3), createdAt: createdAt, note: row.text(5))
        }
    }

    /// Removes a user's overrides (of one kind, or all); returns how many went.
    @discardableResult
    public func removeOverrides(userID: String, kind: Override.Kind? = nil) throws(DirectoryError) -> Int {
        try Self.wrap("removeOverrides") { () throws(StoreError) in
            if let kind {
                try db.execute("DELETE FROM overrides WHERE user_id = ? AND kind = ?", [.text(userID), .text(kind.rawValue)])
            } else {
                try db.execute("DELETE FROM overrides WHERE user_id = ?", [.text(userID)])
            }
            return db.changes
        }
    }

    // MARK: - Meta

    func meta(_ key: String) throws(DirectoryError) -> String? {
        try Self.wrap("meta") { () throws(StoreError) in
            try db.queryOne("SELECT value FROM meta WHERE key = ?", [.text(key)])?.text(0)
        }
    }

    func setMeta(_ key: String, _ value: String) throws(StoreError) {
        try db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [.text(key), .text(value)])
    }

    func loadOrCreateSalt() throws(DirectoryError) -> String {
        if let salt = try meta("audit_salt") { return salt }
        var generator = SystemRandomNumberGenerator()
        let salt = Sha256.hexString((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try Self.wrap("loadOrCreateSalt") { () throws(StoreError) in try setMeta("audit_salt", salt) }
        return salt
    }
}
