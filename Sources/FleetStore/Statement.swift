import CFleetShims

/// A prepared statement: bind, step, read, reset.
///
/// Errors carry the SQL text and the connection's extended code. After every use the owner calls
/// ``reset()``, which also clears bindings, so a cached statement never leaks old arguments into
/// the next call.
final class Statement {
    let sql: String
    private let handle: OpaquePointer
    private let connection: OpaquePointer
    private let path: String
    /// Set while a caller iterates rows, so a nested call with the same SQL prepares its own copy
    /// instead of resetting this one underneath it.
    var inUse = false
    /// Cache bookkeeping: the tick of the last use, for least-recently-used eviction.
    var lastUsed: UInt64 = 0

    /// Prepares exactly one statement; trailing text other than whitespace and `;` is rejected
    /// because SQLite would silently ignore it.
    init(sql: String, connection: OpaquePointer, path: String, persistent: Bool) throws(StoreError) {
        var statement: OpaquePointer?
        var tailIsBlank = true
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let code = sql.withCString { start in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(connection, start, -1, flags, &statement, &tail)
            var cursor = tail
            while let byte = cursor?.pointee, byte != 0 {
                if !(byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x3B) {
                    tailIsBlank = false
                    break
                }
                cursor = cursor?.successor()
            }
            return code
        }
        guard code == SQLITE_OK else {
            sqlite3_finalize(statement)
            throw StoreError.current(connection, operation: "prepare", sql: sql, path: path)
        }
        guard let statement else {
            throw StoreError(resultCode: SQLITE_MISUSE, message: "no statement in SQL text",
                             sql: sql, operation: "prepare", path: path)
        }
        guard tailIsBlank else {
            sqlite3_finalize(statement)
            throw StoreError(resultCode: SQLITE_MISUSE,
                             message: "more than one statement; use executeScript for scripts",
                             sql: sql, operation: "prepare", path: path)
        }
        self.sql = sql
        self.handle = statement
        self.connection = connection
        self.path = path
    }

    deinit {
        sqlite3_finalize(handle)
    }

    // MARK: - Binding

    /// Binds positional arguments; their number must match the statement's parameters.
    func bind(_ arguments: [SQLValue]) throws(StoreError) {
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard arguments.count == expected else {
            throw StoreError(resultCode: SQLITE_RANGE,
                             message: "statement takes \(expected) argument(s), got \(arguments.count)",
                             sql: sql, operation: "bind", path: path)
        }
        for (offset, argument) in arguments.enumerated() {
            let code = bind(argument, at: Int32(offset + 1))
            guard code == SQLITE_OK else {
                var error = StoreError.current(connection, operation: "bind", sql: sql, path: path)
                error.resultCode = code
                error.message += " (argument \(offset + 1))"
                throw error
            }
        }
    }

    private func bind(_ value: SQLValue, at index: Int32) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(handle, index)
        case .integer(let number):
            return sqlite3_bind_int64(handle, index, number)
        case .real(let number):
            return sqlite3_bind_double(handle, index, number)
        case .text(let text):
            var text = text
            return text.withUTF8 { utf8 in
                guard utf8.count <= Int32.max else { return SQLITE_TOOBIG }
                // A nil pointer would bind NULL, not the empty string.
                guard let base = utf8.baseAddress, !utf8.isEmpty else {
                    return cfs_sqlite_bind_text_transient(handle, index, "", 0)
                }
                return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) { chars in
                    cfs_sqlite_bind_text_transient(handle, index, chars, Int32(utf8.count))
                }
            }
        case .blob(let bytes):
            guard bytes.count <= Int32.max else { return SQLITE_TOOBIG }
            // Same trap as text: an empty array may have no storage, and a nil pointer means NULL.
            if bytes.isEmpty { return sqlite3_bind_zeroblob(handle, index, 0) }
            return bytes.withUnsafeBytes { raw in
                cfs_sqlite_bind_blob_transient(handle, index, raw.baseAddress, Int32(raw.count))
            }
        }
    }

    // MARK: - Stepping

    /// Advances to the next row; false when the statement is done.
    func step() throws(StoreError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw StoreError.current(connection, operation: "step", sql: sql, path: path)
        }
    }

    /// Steps to completion, discarding any rows.
    func run() throws(StoreError) {
        while try step() {}
    }

    /// Copies the current row.
    func row() -> Row {
        let count = sqlite3_column_count(handle)
        var values: [SQLValue] = []
        values.reserveCapacity(Int(count))
        for column in 0..<count {
            values.append(value(at: column))
        }
        return Row(values: values)
    }

    private func value(at column: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, column))
        case SQLITE_TEXT:
            // Text first, then bytes: the documented order that avoids a second conversion.
            guard let text = sqlite3_column_text(handle, column) else { return .text("") }
            let length = Int(sqlite3_column_bytes(handle, column))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: length), as: UTF8.self))
        case SQLITE_BLOB:
            let bytes = sqlite3_column_blob(handle, column)
            let length = Int(sqlite3_column_bytes(handle, column))
            guard let bytes, length > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: length)))
        default:
            return .null
        }
    }

    /// Ready for reuse: rewound, bindings cleared. `sqlite3_reset` repeats the last step's error,
    /// which was already reported, so its result is ignored.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }
}
