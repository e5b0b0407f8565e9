import CFleetShims

/// A failed SQLite call, with enough context to act on it from a log line alone.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// SQLite's extended result code (`SQLITE_CONSTRAINT_UNIQUE` rather than `SQLITE_CONSTRAINT`).
    public var resultCode: Int32
    /// `sqlite3_errmsg` as SQLite wrote it, or our own text for checks SQLite does not make.
    public var message: String
    /// The statement that failed, when there is one.
    public var sql: String?
    /// What was being done: `open`, `prepare`, `bind`, `step`, `begin`, `commit`, `exec`,
    /// `integrity_check`, `migrate <name>`, …
    public var operation: String
    /// The database file.
    public var path: String?

    public init(resultCode: Int32, message: String, sql: String? = nil, operation: String, path: String? = nil) {
        self.resultCode = resultCode
        self.message = message
        self.sql = sql
        self.operation = operation
        self.path = path
    }

    /// The primary result code (`SQLITE_CONSTRAINT` for every constraint kind).
    public var primaryResultCode: Int32 { resultCode & 0xFF }

    /// A UNIQUE, PRIMARY KEY, FOREIGN KEY, CHECK or NOT NULL constraint rejected the write.
    public var isConstraintViolation: Bool { primaryResultCode == SQLITE_CONSTRAINT }

    /// Another connection held the lock past the busy timeout.
    public var isBusy: Bool { primaryResultCode == SQLITE_BUSY || primaryResultCode == SQLITE_LOCKED }

    public var description: String {
        var text = operation
        if let path { text += " \(path)" }
        text += ": \(message) (code \(resultCode))"
        if let sql { text += " in: \(sql)" }
        return text
    }
}

extension StoreError {
    /// The connection's current error (extended code and message), as SQLite reports it.
    static func current(_ handle: OpaquePointer?, operation: String, sql: String? = nil, path: String?) -> StoreError {
        let code = handle.map { sqlite3_extended_errcode($0) } ?? SQLITE_NOMEM
        let message = handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "out of memory"
        return StoreError(resultCode: code, message: message, sql: sql, operation: operation, path: path)
    }
}
