import FleetTestSupport
import CFleetShims
import Testing
@testable import FleetStore

private struct Abort: Error, Equatable { var step: Int }

@Suite struct TransactionTests {
    let directory = TemporaryDirectory()

    func openDatabase() throws -> Database {
        try Database(path: directory.file("tx.sqlite"), migrations: [
            Migration("log-v1", "CREATE TABLE log(entry INTEGER NOT NULL);"),
        ])
    }

    func entries(_ db: Database) throws -> [Int] {
        try db.query("SELECT entry FROM log ORDER BY rowid").compactMap { $0.int(0) }
    }

    @Test func commitReturnsTheBodysValue() throws {
        let db = try openDatabase()
        let inserted = try db.transaction {
            try db.execute("INSERT INTO log VALUES (1)")
            try db.execute("INSERT INTO log VALUES (2)")
            return db.changes
        }
        #expect(inserted == 1)
        #expect(try entries(db) == [1, 2])
        // Visible to a second connection: really committed, not just in our cache.
        let other = try openDatabase()
        #expect(try entries(other) == [1, 2])
    }

    @Test func rollbackOnErrorRethrowsTheBodysError() throws {
        let db = try openDatabase()
        try db.execute("INSERT INTO log VALUES (0)")
        #expect(throws: Abort(step: 2)) {
            try db.transaction {
                try db.execute("INSERT INTO log VALUES (1)")
                throw Abort(step: 2)
            }
        }
        #expect(try entries(db) == [0])
        // The connection is usable and out of the transaction afterwards.
        try db.transaction { try db.execute("INSERT INTO log VALUES (3)") }
        #expect(try entries(db) == [0, 3])
    }

    @Test func storeErrorInsideRollsBack() throws {
        let db = try openDatabase()
        let error = #expect(throws: StoreError.self) {
            try db.transaction {
                try db.execute("INSERT INTO log VALUES (1)")
                try db.execute("INSERT INTO log VALUES (NULL)")
            }
        }
        #expect(error?.resultCode == ExtendedCode.constraintNotNull)
        #expect(error?.operation == "step")
        #expect(try entries(db).isEmpty)
    }

    @Test func nestedFailureUndoesOnlyTheInnerWork() throws {
        let db = try openDatabase()
        try db.transaction {
            try db.execute("INSERT INTO log VALUES (1)")
            do {
                try db.transaction {
                    try db.execute("INSERT INTO log VALUES (2)")
                    throw Abort(step: 2)
                }
            } catch is Abort {}
            try db.transaction {
                try db.execute("INSERT INTO log VALUES (3)")
                try db.transaction { try db.execute("INSERT INTO log VALUES (4)") }
            }
        }
        #expect(try entries(db) == [1, 3, 4])
    }

    @Test func outerFailureUndoesCommittedInnerWork() throws {
        let db = try openDatabase()
        #expect(throws: Abort(step: 1)) {
            try db.transaction {
                try db.transaction { try db.execute("INSERT INTO log VALUES (1)") }
                throw Abort(step: 1)
            }
        }
        #expect(try entries(db).isEmpty)
    }

    /// BEGIN IMMEDIATE takes the write lock at once, so a second writer waits its busy timeout
    /// and then fails with SQLITE_BUSY instead of interleaving.
    @Test func writersAreSerialized() throws {
        let db = try openDatabase()
        let other = try Database(path: directory.file("tx.sqlite"), migrations: [
            Migration("log-v1", "CREATE TABLE log(entry INTEGER NOT NULL);"),
        ], busyTimeoutMS: 1)
        try db.transaction {
            let error = #expect(throws: StoreError.self) { try other.transaction { try other.execute("INSERT INTO log VALUES (9)") } }
            #expect(error?.isBusy == true)
            #expect(error?.operation == "step")
            #expect(error?.sql == "BEGIN IMMEDIATE")
        }
        try other.transaction { try other.execute("INSERT INTO log VALUES (9)") }
        #expect(try entries(db) == [9])
    }
}
