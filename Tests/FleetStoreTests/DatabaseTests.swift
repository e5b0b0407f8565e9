import FleetTestSupport
import CFleetShims
import Testing
@testable import FleetStore

private struct Boom: Error, Equatable {}

@Suite struct DatabaseTests {
    let directory = TemporaryDirectory()

    func openDatabase(_ name: String = "test.sqlite") throws -> Database {
        try Database(path: directory.file(name), migrations: [
            Migration("values-v1", """
                CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, value);
                CREATE TABLE parents(id INTEGER PRIMARY KEY);
                CREATE TABLE children(id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parents(id));
                """),
        ])
    }

    @Test func connectionIsConfigured() throws {
        let db = try openDatabase()
        #expect(try db.queryOne("PRAGMA journal_mode")?.text(0) == "wal")
        #expect(try db.queryOne("PRAGMA synchronous")?.int(0) == 1)
        #expect(try db.queryOne("PRAGMA foreign_keys")?.bool(0) == true)
        #expect(try db.queryOne("PRAGMA busy_timeout")?.int(0) == 2000)
        let error = #expect(throws: StoreError.self) { try db.execute("INSERT INTO children VALUES (1, 42)") }
        #expect(error?.resultCode == ExtendedCode.constraintForeignKey)
    }

    @Test(arguments: [
        (SQLValue.null, "null"),
        (.integer(Int64.min), "integer"),
        (.integer(Int64.max), "integer"),
        (.real(-23.8), "real"),
        (.real(.greatestFiniteMagnitude), "real"),
        (.text(""), "text"),
        (.text("héllo 😀"), "text"),
        (.text("nul\u{0}inside"), "text"),
        (.blob([]), "blob"),
        (.blob([0, 1, 0xFF, 0x80, 0]), "blob"),
    ] as [(SQLValue, String)])
    func bindingRoundTrips(value: SQLValue, storageClass: String) throws {
        let db = try openDatabase()
        try db.execute("INSERT INTO items(name, value) VALUES ('v', ?)", [value])
        let row = try #require(try db.queryOne("SELECT value, typeof(value), length(CAST(value AS BLOB)) FROM items"))
        #expect(row[0] == value)
        // Empty text and empty blobs must not turn into NULL on the way in.
        #expect(row.text(1) == storageClass)
        if case .text(let text) = value { #expect(row.int(2) == text.utf8.count) }
    }

    @Test func literalsAndOptionalInitializers() throws {
        let db = try openDatabase()
        let absent: String? = nil
        let arguments: [SQLValue] = ["text", 7, 2.5, true, nil, SQLValue(absent), SQLValue(Optional(3) as Int?),
                                     SQLValue(Int64(-4)), SQLValue(false as Bool?), SQLValue(0.5 as Double?)]
        let row = try #require(try db.queryOne("SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?", arguments))
        #expect(row.values == [.text("text"), .integer(7), .real(2.5), .integer(1), .null, .null,
                               .integer(3), .integer(-4), .integer(0), .real(0.5)])
        #expect(row.count == 10)
    }

    @Test func rowAccessorsConvertOnlyWithoutLoss() throws {
        let db = try openDatabase()
        let row = try #require(try db.queryOne("SELECT 3, 3.0, 3.5, 'x', NULL, x'01', 0"))
        #expect(row.int(0) == 3 && row.int64(0) == 3 && row.double(0) == 3)
        #expect(row.int(1) == 3)
        #expect(row.int(2) == nil && row.double(2) == 3.5)
        #expect(row.text(3) == "x" && row.int(3) == nil && row.blob(3) == nil)
        #expect(row.text(4) == nil && row.int(4) == nil && row[4] == .null)
        #expect(row.blob(5) == [1] && row.text(5) == nil)
        #expect(row.bool(0) == true && row.bool(6) == false && row.bool(3) == nil)
    }

    @Test func changesAndLastInsertRowID() throws {
        let db = try openDatabase()
        try db.execute("INSERT INTO items(name) VALUES (?)", ["a"])
        #expect(db.lastInsertRowID == 1)
        try db.execute("INSERT INTO items(name) VALUES (?)", ["b"])
        #expect(db.lastInsertRowID == 2)
        try db.execute("UPDATE items SET value = 1")
        #expect(db.changes == 2)
    }

    @Test func forEachStreamsRowsAndRethrowsBodyErrors() throws {
        let db = try openDatabase()
        for name in ["a", "b", "c"] { try db.execute("INSERT INTO items(name) VALUES (?)", [.text(name)]) }
        var seen: [String] = []
        try db.forEach("SELECT name FROM items WHERE name > ? ORDER BY name", ["a"]) { seen.append($0.text(0)!) }
        #expect(seen == ["b", "c"])
        #expect(throws: Boom()) { try db.forEach("SELECT name FROM items") { _ in throw Boom() } }
        // The statement was reset despite the throw: the same SQL runs again from the start.
        var count = 0
        try db.forEach("SELECT name FROM items") { _ in count += 1 }
        #expect(count == 3)
    }

    /// A nested call with the SQL of a statement still being iterated must not reset it.
    @Test func reentrantUseOfTheSameStatement() throws {
        let db = try openDatabase()
        for name in ["a", "b", "c"] { try db.execute("INSERT INTO items(name) VALUES (?)", [.text(name)]) }
        var pairs = 0
        let sql = "SELECT name FROM items ORDER BY name"
        try db.forEach(sql) { _ in pairs += try db.query(sql).count }
        #expect(pairs == 9)
    }

    @Test func executeScriptRunsSeveralStatements() throws {
        let db = try openDatabase()
        try db.executeScript("INSERT INTO items(name) VALUES ('x'); INSERT INTO items(name) VALUES ('y');")
        #expect(try db.queryOne("SELECT count(*) FROM items")?.int(0) == 2)
        let error = #expect(throws: StoreError.self) { try db.executeScript("INSERT INTO nowhere VALUES (1)") }
        #expect(error?.operation == "exec")
        #expect(error?.message == "no such table: nowhere")
        #expect(error?.sql == "INSERT INTO nowhere VALUES (1)")
    }

    @Test func closedDatabaseRefusesCalls() throws {
        let db = try openDatabase()
        db.close()
        let error = #expect(throws: StoreError.self) { try db.query("SELECT 1") }
        #expect(error?.resultCode == SQLITE_MISUSE)
        db.close()
    }

    @Test func inMemoryDatabase() throws {
        let db = try Database(path: ":memory:", migrations: [Migration("t", "CREATE TABLE t(x);")])
        try db.execute("INSERT INTO t VALUES (?)", [1])
        #expect(try db.query("SELECT x FROM t").map { $0.int(0) } == [1])
    }
}
