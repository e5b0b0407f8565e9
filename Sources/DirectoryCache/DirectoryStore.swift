import FleetStore

/// Owner of `directory.sqlite`: the cached people, sync runs, the audit log, local overrides and
/// the last successful sync per source. Loop-bound, like its ``Database``.
///
/// Kept apart from device and telemetry state so telemetry churn never touches the file doors
/// depend on.
public final class DirectoryStore {
    let db: Database
    /// Per-database salt for audit credential hashes, so a copied audit table cannot be matched
    /// against a list of badge numbers from elsewhere (badge ids are short and guessable).
    private(set) var auditSalt = ""

    /// Every migration this store ever shipped, oldest first; append, never edit.
    static let migrations: [Migration] = [
        Migration("directory-v1", """
            CREATE TABLE users(
                id TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                external_id TEXT NOT NULL,
                email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                display_name TEXT NOT NULL COLLATE NOCASE,
                role TEXT CHECK (role IN ('hidden_user','user','manager','advanced_manager','admin')),
                active INTEGER NOT NULL,
                hidden INTEGER NOT NULL DEFAULT 0,
                badge TEXT UNIQUE,
                updated_at REAL NOT NULL,
                deactivated_at REAL,
                UNIQUE (source, external_id)
            );
            -- NOCASE columns let `LIKE 'pre%'` use these indexes for search.
            CREATE INDEX users_display_name ON users(display_name);
            CREATE TABLE sync_runs(
                id INTEGER PRIMARY KEY,
                source TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('running','succeeded','failed','held')),
                reason TEXT,
                started_at REAL NOT NULL,
                finished_at REAL,
                counts TEXT NOT NULL DEFAULT '{}'
            );
            -- No foreign key to users: audit rows outlive purged users.
            CREATE TABLE audit(
                id INTEGER PRIMARY KEY,
                ts REAL NOT NULL,
                device_id TEXT,
                credential_type TEXT NOT NULL,
                credential_hash TEXT NOT NULL,
                user_id TEXT,
                decision TEXT NOT NULL CHECK (decision IN ('allow','deny')),
                reason TEXT NOT NULL
            );
            CREATE INDEX audit_user ON audit(user_id, id);
            CREATE TABLE overrides(
                id INTEGER PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                kind TEXT NOT NULL CHECK (kind IN ('block','allow')),
                until REAL,
                created_at REAL NOT NULL,
                note TEXT
            );
            CREATE INDEX overrides_user ON overrides(user_id);
            CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """),
        Migration("directory-v2-admin-audit-retention-checkins", """
            -- What admins did to people (block, allow, restore, purge), apart from door decisions.
            CREATE TABLE admin_audit(
                id INTEGER PRIMARY KEY,
                ts REAL NOT NULL,
                action TEXT NOT NULL,
                user_id TEXT,
                detail TEXT NOT NULL DEFAULT ''
            );
            CREATE INDEX audit_ts ON audit(ts);
            CREATE INDEX users_inactive ON users(deactivated_at) WHERE active = 0;
            -- Check-ins from panels: stored before the reply, sent to the cloud once (the outbox).
            CREATE TABLE checkins(
                device_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                received_at REAL NOT NULL,
                payload TEXT NOT NULL,
                decision TEXT NOT NULL,
                reason TEXT NOT NULL,
                user_id TEXT,
                delivered_at REAL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at REAL NOT NULL DEFAULT 0,
                last_error TEXT,
                PRIMARY KEY (device_id, event_id)
            );
            CREATE INDEX checkins_pending ON checkins(next_attempt_at) WHERE delivered_at IS NULL;
            """),
        heldRunsMigration,
        upnAliasesMigration,
    ]

    /// Opens (creating and migrating) the store at `path`, e.g. `$STATE/directory.sqlite`.
    public init(path: String) throws(DirectoryError) {
        db = try Self.wrap("open") { () throws(StoreError) in try Database(path: path, migrations: Self.migrations) }
        auditSalt = try loadOrCreateSalt()
    }

    // MARK: - Users

    static let userColumns =
        "id, external_id, email, display_name, role, active, hidden, badge, source, updated_at, deactivated_at"

    /// The user with this id.
    public func user(id: String) throws(DirectoryError) -> User? {
        try queryUser("SELECT \(Self.userColumns) FROM users WHERE id = ?", [.text(id)], operation: "user(id:)")
    }

    /// The user with this email, ignoring case and surrounding blanks.
    public func user(email: String) throws(DirectoryError) -> User? {
        try queryUser("SELECT \(Self.userColumns) FROM users WHERE email = ?",
            [.text(Person.trimmed(email).lowercased())], operation: "user(email:)")
    }

    /// The user holding this badge (normalized as the sources normalize it).
    public func user(badge: String) throws(DirectoryError) -> User? {
        guard case .success(let normalized?) = Person.normalizedBadge(badge) else { return nil }
        return try queryUser("SELECT \(Self.userColumns) FROM users WHERE badge = ?", [.text(normalized)],
            operation: "user(badge:)")
    }

    /// The user a source knows by `externalID`.
    public func user(source: String, externalID: String) throws(DirectoryError) -> User? {
        try queryUser("SELECT \(Self.userColumns) FROM users WHERE source = ? AND external_id = ?",
            [.text(source), .text(externalID)], operation: "user(source:externalID:)")
    }

    /// Active users of a source, all or only those with `role`.
    public func activeCount(source: String, role: Role? = nil) throws(DirectoryError) -> Int {
        let row = try Self.wrap("activeCount") { () throws(StoreError) in
            if let role {
                try db.queryOne("SELECT count(*) FROM users WHERE source = ? AND active = 1 AND role = ?",
                    [.text(source), .text(role.rawValue)])
            } else {
                try db.queryOne("SELECT count(*) FROM users WHERE source = ? AND active = 1", [.text(source)])
            }
        }
        return Int(row?.int64(0) ?? 0)
    }

    /// All users, or those of one source, in a stable order (by id).
    public func users(source: String? = nil) throws(DirectoryError) -> [User] {
        let rows = try Self.wrap("users") { () throws(StoreError) in
            if let source {
                try db.query("SELECT \(Self.userColumns) FROM users WHERE source = ? ORDER BY id", [.text(source)])
            } else {
                try db.query("SELECT \(Self.userColumns) FROM users ORDER BY id")
            }
        }
        return rows.compactMap(Self.user(from:))
    }

    /// Active, non-hidden users whose display name or email starts with `prefix` (ASCII case
    /// ignored), by display name. `limit` is clamped to 1…100 so a panel cannot page the whole
    /// directory out of the box.
    public func search(prefix: String, limit: Int = 20) throws(DirectoryError) -> [User] {
        let pattern = Self.likeEscaped(Person.trimmed(prefix)) + "%"
        let bounded = min(max(limit, 1), 100)
        let rows = try Self.wrap("search") { () throws(StoreError) in
            try db.query("""
                SELECT \(Self.userColumns) FROM users
                WHERE active = 1 AND hidden = 0
                  AND (display_name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\')
                ORDER BY display_name, email LIMIT ?2
                """, [.text(pattern), .integer(Int64(bounded))])
        }
        return rows.compactMap(Self.user(from:))
    }

    /// Writes a ready plan and stamps the source's last successful sync, all in one transaction:
    /// a crash or error leaves the cache exactly as it was.
    public func apply(_ plan: SyncPlan, at now: Double, meta: [(String, String)] = []) throws(DirectoryError) {
        precondition(plan.verdict == .ready, "only a ready plan may be applied: \(plan.verdict)")
        try Self.wrap("apply") { () throws(StoreError) in
            do {
                try db.transaction {
                    for change in plan.changes { try clearMoving(change) }
                    for change in plan.changes { try upsert(change.after) }
                    try setMeta(Self.lastSyncKey(plan.source), String(now))
                    for (key, value) in meta { try setMeta(key, value) }
                }
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(resultCode: 1, message: "\(error)", operation: "apply")
            }
        }
    }

    /// Emails and badges may move between people in one run (swaps): clearing the moving ones
    /// first keeps the UNIQUE constraints true at every statement.
    func clearMoving(_ change: SyncPlan.Change, table: String = "users") throws(StoreError) {
        guard let before = change.before else { return }
        if before.badge != nil && before.badge != change.after.badge {
            try db.execute("UPDATE \(table) SET badge = NULL WHERE id = ?", [.text(before.id)])
        }
        if before.email != change.after.email {
            try db.execute("UPDATE \(table) SET email = '#' || id WHERE id = ?", [.text(before.id)])
        }
    }

    /// A plain insert (the staged shadow table has no conflicts to resolve).
    func insert(_ user: User, table: String) throws(StoreError) {
        try db.execute("INSERT INTO \(table) (\(Self.userColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", Self.values(user))
    }

    static func values(_ user: User) -> [SQLValue] {
        [
            .text(user.id), .text(user.externalID), .text(user.email), .text(user.displayName),
            SQLValue(user.role?.rawValue), SQLValue(user.active), SQLValue(user.hidden), SQLValue(user.badge),
            .text(user.source), .real(user.updatedAt), SQLValue(user.deactivatedAt),
        ]
    }

    func upsert(_ user: User, table: String = "users") throws(StoreError) {
        try db.execute("""
            INSERT INTO \(table) (\(Self.userColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET external_id = excluded.external_id, email = excluded.email,
                display_name = excluded.display_name, role = excluded.role, active = excluded.active,
                hidden = excluded.hidden, badge = excluded.badge, source = excluded.source,
                updated_at = excluded.updated_at, deactivated_at = excluded.deactivated_at
            """, [
                .text(user.id), .text(user.externalID), .text(user.email), .text(user.displayName),
                SQLValue(user.role?.rawValue), SQLValue(user.active), SQLValue(user.hidden), SQLValue(user.badge),
                .text(user.source), .real(user.updatedAt), SQLValue(user.deactivatedAt),
            ])
    }

    private func queryUser(_ sql: String, _ arguments: [SQLValue], operation: String) throws(DirectoryError) -> User? {
        let row = try Self.wrap(operation) { () throws(StoreError) in try db.queryOne(sql, arguments) }
        return row.flatMap(Self.user(from:))
    }

    /// Decodes a row selected with ``userColumns``; nil only if the file was edited by hand.
    static func user(from row: Row) -> User? {
        guard let id = row.text(0), let externalID = row.text(1), let email = row.text(2),
            let displayName = row.text(3), let source = row.text(8), let updatedAt = row.double(9)
        else { return nil }
        return User(
            id: id, externalID: externalID, email: email, displayName: displayName,
            role: row.text(4).flatMap(Role.init(rawValue:)), active: row.bool(5) ?? false,
            hidden: row.bool(6) ?? false, badge: row.text(7), source: source, updatedAt: updatedAt,
            deactivatedAt: row.double(10))
    }

    /// `%`, `_` and the escape itself are literal in a search prefix.
    static func likeEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out
    }

    /// Runs a FleetStore call and turns its error into this module's error.
    @discardableResult
    static func wrap<T>(_ operation: String, _ body: () throws(StoreError) -> T) throws(DirectoryError) -> T {
        do {
            return try body()
        } catch {
            throw DirectoryError(.store, reason: error.message, operation: operation, resultCode: error.resultCode)
        }
    }
}

@available(*, unavailable) extension DirectoryStore: Sendable {}
