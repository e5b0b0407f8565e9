import FleetTestSupport
import CFleetShims
import Testing
@testable import FleetStore

@Suite struct StatementTests {
    let directory = TemporaryDirectory()

    func openDatabase() throws -> Database {
        try Database(path: directory.file("stmt.sqlite"), migrations: [
            Migration("items-v1", "CREATE TABLE items(name TEXT PRIMARY KEY, count INTEGER NOT NULL);"),
        ])
    }

    @Test func errorsCarrySQLAndExtendedCode() throws {
        let db = try openDatabase()
        let insert = "INSERT INTO items(name, count) VALUES (?, ?)"
        try db.execute(insert, ["a", 1])
        let duplicate = try #require(throws: StoreError.self) { try db.execute(insert, ["a", 2]) }
        #expect(duplicate.resultCode == ExtendedCode.constraintPrimaryKey)
        #expect(duplicate.isConstraintViolation)
        #expect(duplicate.message == "UNIQUE constraint failed: items.name")
        #expect(duplicate.sql == insert)
        #expect(duplicate.operation == "step")
        #expect(duplicate.path == directory.file("stmt.sqlite"))
        #expect(duplicate.description.contains("UNIQUE constraint failed: items.name (code 1555) in: INSERT INTO items"))

        let syntax = try #require(throws: StoreError.self) { try db.query("SELEC name FROM items") }
        #expect(syntax.operation == "prepare")
        #expect(syntax.message.contains("syntax error"))
        #expect(syntax.sql == "SELEC name FROM items")
    }

    @Test func argumentCountMustMatch() throws {
        let db = try openDatabase()
        let error = try #require(throws: StoreError.self) { try db.execute("INSERT INTO items VALUES (?, ?)", ["a"]) }
        #expect(error.operation == "bind")
        #expect(error.resultCode == SQLITE_RANGE)
        #expect(error.message == "statement takes 2 argument(s), got 1")
        #expect(error.sql == "INSERT INTO items VALUES (?, ?)")
    }

    @Test func executeRefusesSeveralStatements() throws {
        let db = try openDatabase()
        let error = try #require(throws: StoreError.self) {
            try db.execute("INSERT INTO items VALUES ('a', 1); DELETE FROM items")
        }
        #expect(error.operation == "prepare")
        #expect(error.message.contains("executeScript"))
        #expect(try db.queryOne("SELECT count(*) FROM items")?.int(0) == 0)
        // A trailing semicolon and whitespace are one statement, not two.
        try db.execute("INSERT INTO items VALUES ('a', 1);  \n")
        #expect(try db.queryOne("SELECT count(*) FROM items")?.int(0) == 1)
    }

    /// A failed step or bind leaves the cached statement reset and unbound, ready for the next call.
    @Test func cachedStatementIsReusedAfterErrors() throws {
        let db = try openDatabase()
        let insert = "INSERT INTO items(name, count) VALUES (?, ?)"
        let lookup = "SELECT count FROM items WHERE name = ?"
        try db.execute(insert, ["a", 1])
        let cached = db.statements.lookup(insert)
        #expect(cached != nil)

        #expect(throws: StoreError.self) { try db.execute(insert, ["a", 2]) }
        #expect(throws: StoreError.self) { try db.execute(insert, [nil, nil]) }
        #expect(throws: StoreError.self) { try db.execute(insert, ["only one"]) }
        try db.execute(insert, ["b", 2])
        #expect(db.statements.lookup(insert) === cached)

        // Each call binds its own arguments to the reused statement.
        #expect(try db.queryOne(lookup, ["b"])?.int(0) == 2)
        #expect(try db.queryOne(lookup, ["missing"]) == nil)
        #expect(try db.query(lookup, ["a"]).map { $0.int(0) } == [1])
    }

    @Test func queryOneLeavesTheStatementReusable() throws {
        let db = try openDatabase()
        for (name, count) in [("a", 1), ("b", 2), ("c", 3)] {
            try db.execute("INSERT INTO items VALUES (?, ?)", [.text(name), .integer(Int64(count))])
        }
        let sql = "SELECT name FROM items ORDER BY name"
        #expect(try db.queryOne(sql)?.text(0) == "a")
        #expect(try db.queryOne(sql)?.text(0) == "a")
        #expect(try db.query(sql).count == 3)
    }

    @Test func cacheIsBoundedAndKeepsRecentlyUsed() throws {
        let db = try openDatabase()
        let hot = "SELECT count(*) FROM items"
        for number in 0..<(Database.statementCacheCapacity * 2) {
            _ = try db.queryOne(hot)
            _ = try db.queryOne("SELECT \(number)")
        }
        #expect(db.statements.count == Database.statementCacheCapacity)
        #expect(db.statements.contains(hot))
        #expect(db.statements.contains("SELECT \(Database.statementCacheCapacity * 2 - 1)"))
        #expect(!db.statements.contains("SELECT 0"))
        // An evicted statement is simply prepared again.
        #expect(try db.queryOne("SELECT 0")?.int(0) == 0)
    }
}
