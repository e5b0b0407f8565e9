import CFleetShims
import Glibc

/// One SQLite connection, owned by the event loop.
///
/// Opening configures the connection for a single-writer daemon (WAL, `synchronous=NORMAL`,
/// foreign keys, a busy timeout), refuses a damaged file, and brings the schema up to date with
/// append-only named migrations:
///
/// ```swift
/// let db = try Database(path: "\(state)/devices.sqlite", migrations: [
///     Migration("pairing-v1", "CREATE TABLE devices(id TEXT PRIMARY KEY, resource TEXT NOT NULL);"),
/// ])
/// try db.execute("INSERT INTO devices VALUES (?, ?)", [id, resource])
/// let row = try db.queryOne("SELECT resource FROM devices WHERE id = ?", [id])
/// ```
///
/// Calls are synchronous; keep each short so the loop never stalls. Statements are prepared once
/// and cached by their SQL text, so pass values as arguments rather than building SQL strings.
public final class Database {
    /// The database file, as given.
    public let path: String
    /// The migration names recorded in the database, in the order they were applied.
    public internal(set) var appliedMigrations: [String] = []

    private(set) var handle: OpaquePointer?
    var statements: StatementCache
    private var transactionDepth = 0
    /// Frames in the WAL after the last commit, once ``trackWALFrames()`` was called (0 before).
    public internal(set) var walFrames = 0
    /// The WAL file, opened read-only to start its writeback early (see ``trackWALFrames()``);
    /// -1 before, -2 when it could not be opened.
    var walFD: CInt = -1
    /// ``walFrames`` when the WAL's writeback was last started.
    var framesAtWriteback = 0

    static let statementCacheCapacity = 64

    /// Opens (creating if needed) the database at `path`, checks it and applies migrations.
    ///
    /// - Parameters:
    ///   - path: the file; `:memory:` gives a private in-memory database.
    ///   - migrations: every migration this owner ever shipped, oldest first. Never edit, remove
    ///     or reorder released ones: append new ones. Each runs once, in its own transaction.
    ///   - busyTimeoutMS: how long a call waits for another connection's lock before failing.
    /// - Throws: ``StoreError`` with operation `open` (cannot open, not a database),
    ///   `integrity_check` (`PRAGMA quick_check` found damage; the message is its first finding)
    ///   or `migrate <name>` (a migration failed and was rolled back, or the applied history does
    ///   not match `migrations`).
    public init(path: String, migrations: [Migration], busyTimeoutMS: Int32 = 2000) throws(StoreError) {
        self.path = path
        self.statements = StatementCache(capacity: Self.statementCacheCapacity)
        var connection: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        guard sqlite3_open_v2(path, &connection, flags, nil) == SQLITE_OK, let connection else {
            let error = StoreError.current(connection, operation: "open", path: path)
            sqlite3_close_v2(connection)
            throw error
        }
        handle = connection
        do throws(StoreError) {
            sqlite3_extended_result_codes(connection, 1)
            sqlite3_busy_timeout(connection, busyTimeoutMS)
            try configure()
            try checkIntegrity()
            try migrate(migrations)
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
    }

    /// Finalizes cached statements and closes the connection. Later calls throw `SQLITE_MISUSE`.
    public func close() {
        if walFD >= 0 { Glibc.close(walFD) }
        walFD = -1
        statements.removeAll()
        // close_v2 defers the real close until statements still held elsewhere are finalized.
        sqlite3_close_v2(handle)
        handle = nil
    }

    // MARK: - Statements

    /// Runs one statement, discarding any rows.
    public func execute(_ sql: String, _ arguments: [SQLValue] = []) throws(StoreError) {
        let statement = try prepared(sql, arguments)
        defer { release(statement) }
        try statement.run()
    }

    /// Runs one statement and returns all its rows.
    public func query(_ sql: String, _ arguments: [SQLValue] = []) throws(StoreError) -> [Row] {
        let statement = try prepared(sql, arguments)
        defer { release(statement) }
        var rows: [Row] = []
        while try statement.step() { rows.append(statement.row()) }
        return rows
    }

    /// The first row, or nil when there is none; the rest are not read.
    public func queryOne(_ sql: String, _ arguments: [SQLValue] = []) throws(StoreError) -> Row? {
        let statement = try prepared(sql, arguments)
        defer { release(statement) }
        return try statement.step() ? statement.row() : nil
    }

    /// Calls `body` with each row as it is read, without collecting them; stops at the first
    /// error thrown by SQLite (a ``StoreError``) or by `body` (rethrown as is).
    public func forEach(_ sql: String, _ arguments: [SQLValue] = [], _ body: (Row) throws -> Void) throws {
        let statement = try prepared(sql, arguments)
        defer { release(statement) }
        while try statement.step() { try body(statement.row()) }
    }

    /// Runs SQL text with any number of statements and no arguments (`sqlite3_exec`), for schema
    /// scripts. It must not contain its own `BEGIN`/`COMMIT` when used as a migration.
    public func executeScript(_ sql: String) throws(StoreError) {
        let connection = try open(operation: "exec", sql: sql)
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(connection, sql, nil, nil, &errorMessage)
        defer { sqlite3_free(errorMessage) }
        guard code == SQLITE_OK else {
            var error = StoreError.current(connection, operation: "exec", sql: sql, path: path)
            if let errorMessage { error.message = String(cString: errorMessage) }
            throw error
        }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int {
        handle.map { Int(sqlite3_changes64($0)) } ?? 0
    }

    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 {
        handle.map { sqlite3_last_insert_rowid($0) } ?? 0
    }

    /// A cached statement (or a fresh one when the cached one is busy in an outer `forEach`),
    /// bound and marked in use. Pair with ``release(_:)``.
    private func prepared(_ sql: String, _ arguments: [SQLValue]) throws(StoreError) -> Statement {
        let connection = try open(operation: "prepare", sql: sql)
        let statement: Statement
        if let cached = statements.lookup(sql), !cached.inUse {
            statement = cached
        } else {
            statement = try Statement(sql: sql, connection: connection, path: path, persistent: true)
            if !statements.contains(sql) { statements.insert(statement) }
        }
        statement.inUse = true
        do throws(StoreError) {
            try statement.bind(arguments)
        } catch {
            release(statement)
            throw error
        }
        return statement
    }

    private func release(_ statement: Statement) {
        statement.reset()
        statement.inUse = false
    }

    private func open(operation: String, sql: String?) throws(StoreError) -> OpaquePointer {
        guard let handle else {
            throw StoreError(resultCode: SQLITE_MISUSE, message: "database is closed",
                             sql: sql, operation: operation, path: path)
        }
        return handle
    }

    // MARK: - Transactions

    /// Runs `body` in a transaction: `BEGIN IMMEDIATE` … `COMMIT`, or `ROLLBACK` and the body's
    /// error if it throws. Nested calls use savepoints, so an inner failure undoes only the inner
    /// work when the outer body catches it.
    ///
    /// `IMMEDIATE` takes the write lock up front: a deferred transaction that reads first and
    /// writes later can fail with `SQLITE_BUSY` without the busy timeout helping.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        let level = transactionDepth
        let savepoint = "fleet_sp\(level)"
        try execute(level == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT \(savepoint)")
        transactionDepth += 1
        let result: T
        do {
            result = try body()
        } catch {
            transactionDepth -= 1
            rollback(level: level, savepoint: savepoint)
            throw error
        }
        transactionDepth -= 1
        do {
            try execute(level == 0 ? "COMMIT" : "RELEASE \(savepoint)")
        } catch {
            rollback(level: level, savepoint: savepoint)
            throw error
        }
        return result
    }

    /// Best effort: SQLite may already have rolled back on its own (e.g. after `SQLITE_FULL`), and
    /// the error that got us here matters more than a failure to undo.
    private func rollback(level: Int, savepoint: String) {
        guard let handle, sqlite3_get_autocommit(handle) == 0 else { return }
        if level == 0 {
            try? execute("ROLLBACK")
        } else {
            try? execute("ROLLBACK TO \(savepoint)")
            try? execute("RELEASE \(savepoint)")
        }
    }

    // MARK: - Opening

    /// Errors here mostly mean the file is not a SQLite database at all, so they are reported as
    /// part of opening it.
    private func configure() throws(StoreError) {
        do throws(StoreError) {
            // journal_mode answers with the mode it ended up in; in-memory databases stay "memory".
            _ = try queryOne("PRAGMA journal_mode=WAL")
            try execute("PRAGMA synchronous=NORMAL")
            try execute("PRAGMA foreign_keys=ON")
        } catch {
            var error = error
            error.operation = "open"
            throw error
        }
    }

    /// `quick_check` rather than `integrity_check`: it skips index-vs-table cross checks, which
    /// are slow on a large telemetry file, but still finds damaged pages.
    private func checkIntegrity() throws(StoreError) {
        let sql = "PRAGMA quick_check(1)"
        let finding: String?
        do throws(StoreError) {
            finding = try queryOne(sql)?.text(0)
        } catch {
            var error = error
            error.operation = "integrity_check"
            throw error
        }
        guard let finding, finding != "ok" else { return }
        // Findings come as "*** in database main ***\nPage 39: …"; keep the part naming the page,
        // on one line so it fits a log entry.
        let detail = finding.split(separator: "\n").filter { !$0.hasPrefix("***") }.joined(separator: "; ")
        throw StoreError(resultCode: SQLITE_CORRUPT, message: "database is damaged: \(detail)",
                         sql: sql, operation: "integrity_check", path: path)
    }
}

@available(*, unavailable)
extension Database: Sendable {}
