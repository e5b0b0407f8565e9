import FleetTestSupport
import CFleetShims
import Testing
@testable import FleetStore

@Suite struct MigratorTests {
    let directory = TemporaryDirectory()
    var path: String { directory.file("test.sqlite") }

    // Without IF NOT EXISTS: running either twice would fail, so a rerun cannot go unnoticed.
    let first = Migration("devices-v1", "CREATE TABLE devices(id TEXT PRIMARY KEY);")
    let second = Migration("devices-v2", """
        ALTER TABLE devices ADD COLUMN resource TEXT;
        CREATE INDEX devices_resource ON devices(resource);
        """)
    let third = Migration("sensors-v1", "CREATE TABLE sensors(dev_eui TEXT PRIMARY KEY);")

    @Test func migrationsRunOnceInOrderAcrossReopen() throws {
        do {
            let db = try Database(path: path, migrations: [first, second])
            #expect(db.appliedMigrations == ["devices-v1", "devices-v2"])
            try db.execute("INSERT INTO devices(id, resource) VALUES (?, ?)", ["door-lobby", "hq/lobby"])
        }
        let db = try Database(path: path, migrations: [first, second, third])
        #expect(db.appliedMigrations == ["devices-v1", "devices-v2", "sensors-v1"])
        #expect(try db.queryOne("SELECT resource FROM devices")?.text(0) == "hq/lobby")
        let recorded = try db.query("SELECT name, applied_at FROM _migrations ORDER BY rowid")
        #expect(recorded.map { $0.text(0) } == ["devices-v1", "devices-v2", "sensors-v1"])
        // Unix seconds, not a Julian day number: after 2020 and not absurdly far ahead.
        #expect(recorded.allSatisfy { ($0.double(1) ?? 0) > 1_577_836_800 && ($0.double(1) ?? 0) < 4_102_444_800 })

        let again = try Database(path: path, migrations: [first, second, third])
        #expect(again.appliedMigrations.count == 3)
        #expect(try again.queryOne("SELECT count(*) FROM _migrations")?.int(0) == 3)
    }

    @Test func failingMigrationRollsBackAndNamesItself() throws {
        let broken = Migration("broken-v1", """
            CREATE TABLE half(x);
            INSERT INTO missing_table VALUES (1);
            """)
        let error = try #require(throws: StoreError.self) {
            try Database(path: path, migrations: [first, broken, third])
        }
        #expect(error.operation == "migrate broken-v1")
        #expect(error.message.contains("no such table: missing_table"))
        #expect(error.primaryResultCode == SQLITE_ERROR)
        #expect(error.path == path)
        #expect(error.sql?.contains("CREATE TABLE half") == true)

        // The migrations before it stay applied; the failed one left nothing and runs again later.
        let db = try Database(path: path, migrations: [first])
        #expect(db.appliedMigrations == ["devices-v1"])
        #expect(try db.queryOne("SELECT count(*) FROM sqlite_schema WHERE name IN ('half', 'sensors')")?.int(0) == 0)
        db.close()
        let fixed = Migration("broken-v1", "CREATE TABLE half(x);")
        let retried = try Database(path: path, migrations: [first, fixed])
        #expect(retried.appliedMigrations == ["devices-v1", "broken-v1"])
    }

    @Test(arguments: [
        (["devices-v1", "other-v2"], "devices-v2"),   // a released migration renamed
        (["devices-v2", "devices-v1"], "devices-v1"), // reordered
        (["devices-v1"], "devices-v2"),               // removed from the end
    ])
    func editedHistoryIsRejected(names: [String], offending: String) throws {
        _ = try Database(path: path, migrations: [first, second])
        let all = [first, second, Migration("other-v2", "SELECT 1;")]
        let edited = names.map { name in all.first { $0.name == name }! }
        let error = try #require(throws: StoreError.self) { try Database(path: path, migrations: edited) }
        #expect(error.operation == "migrate \(offending)")
        #expect(error.message.contains("append-only"))
        #expect(error.path == path)
        // Refusing must not have changed anything.
        let db = try Database(path: path, migrations: [first, second])
        #expect(db.appliedMigrations == ["devices-v1", "devices-v2"])
    }

    @Test func duplicateNamesAreRejected() {
        let error = #expect(throws: StoreError.self) {
            try Database(path: path, migrations: [first, Migration("devices-v1", "SELECT 1;")])
        }
        #expect(error?.operation == "migrate devices-v1")
        #expect(directory.exists("test.sqlite"))
    }

    @Test func emptyListOnFreshDatabase() throws {
        let db = try Database(path: path, migrations: [])
        #expect(db.appliedMigrations.isEmpty)
        #expect(try db.queryOne("SELECT count(*) FROM _migrations")?.int(0) == 0)
    }
}
