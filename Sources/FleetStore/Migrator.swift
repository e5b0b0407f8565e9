import CFleetShims

/// A named schema change, applied once per database and never edited after release.
///
/// The name is the identity: a database records the names it applied, so renaming, removing or
/// reordering released migrations is detected and refused when the database opens.
public struct Migration: Sendable {
    /// A stable identifier, e.g. `pairing-v1`.
    public let name: String
    /// One or more statements, run with `sqlite3_exec` inside the migration's transaction.
    public let sql: String

    public init(_ name: String, _ sql: String) {
        self.name = name
        self.sql = sql
    }
}

extension Database {
    static let migrationsTable = "_migrations"

    /// Checks the recorded history against `migrations`, then applies the rest in order.
    func migrate(_ migrations: [Migration]) throws(StoreError) {
        try checkUniqueNames(migrations)
        try execute("CREATE TABLE IF NOT EXISTS \(Self.migrationsTable)(name TEXT PRIMARY KEY, applied_at REAL)")
        appliedMigrations = try query("SELECT name FROM \(Self.migrationsTable) ORDER BY rowid").compactMap { $0.text(0) }
        try checkHistory(against: migrations)
        for migration in migrations.dropFirst(appliedMigrations.count) {
            try apply(migration)
            appliedMigrations.append(migration.name)
        }
    }

    /// The applied names must be exactly a prefix of the list: a later binary may add migrations,
    /// but one that lost, renamed or reordered some would run against a schema it does not know.
    private func checkHistory(against migrations: [Migration]) throws(StoreError) {
        for (position, applied) in appliedMigrations.enumerated() {
            let listed = position < migrations.count ? "'\(migrations[position].name)'" : "nothing"
            guard position < migrations.count, migrations[position].name == applied else {
                throw StoreError(
                    resultCode: SQLITE_ERROR,
                    message: "database applied migration '\(applied)' at position \(position + 1), but the list has "
                        + "\(listed) there; migrations are append-only (never edit, remove or reorder them)",
                    operation: "migrate \(applied)", path: path)
            }
        }
    }

    private func checkUniqueNames(_ migrations: [Migration]) throws(StoreError) {
        var seen = Set<String>()
        for migration in migrations where !seen.insert(migration.name).inserted {
            throw StoreError(resultCode: SQLITE_MISUSE, message: "migration name listed twice",
                             operation: "migrate \(migration.name)", path: path)
        }
    }

    /// Script and record commit together, so a failed migration leaves neither its schema nor its
    /// name behind and runs again on the next start.
    private func apply(_ migration: Migration) throws(StoreError) {
        let operation = "migrate \(migration.name)"
        do throws(StoreError) {
            try execute("BEGIN IMMEDIATE")
        } catch {
            throw relabel(error, operation: operation, sql: nil)
        }
        do throws(StoreError) {
            try executeScript(migration.sql)
            // applied_at in Unix seconds; julianday keeps it independent of SQLite's version.
            try execute(
                "INSERT INTO \(Self.migrationsTable)(name, applied_at) VALUES (?, (julianday('now') - 2440587.5) * 86400.0)",
                [.text(migration.name)])
            try execute("COMMIT")
        } catch {
            if let handle, sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") }
            throw relabel(error, operation: operation, sql: error.sql)
        }
    }

    private func relabel(_ error: StoreError, operation: String, sql: String?) -> StoreError {
        var error = error
        error.operation = operation
        error.sql = sql
        return error
    }
}
