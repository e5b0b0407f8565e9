import FleetTestSupport
import CFleetShims
import Testing
@testable import FleetStore

@Suite struct IntegrityTests {
    let directory = TemporaryDirectory()
    let migrations = [Migration("blobs-v1", "CREATE TABLE blobs(id INTEGER PRIMARY KEY, payload BLOB NOT NULL);")]

    /// Builds a database of many pages and closes it, so the WAL is checkpointed into the file.
    func makeMultiPageDatabase(_ path: String) throws -> Int {
        let db = try Database(path: path, migrations: migrations)
        try db.transaction {
            for _ in 0..<400 { try db.execute("INSERT INTO blobs(payload) VALUES (randomblob(600))") }
        }
        let pages = try #require(try db.queryOne("PRAGMA page_count")?.int(0))
        let pageSize = try #require(try db.queryOne("PRAGMA page_size")?.int(0))
        db.close()
        return pages * pageSize
    }

    @Test func intactDatabaseOpens() throws {
        let path = directory.file("ok.sqlite")
        _ = try makeMultiPageDatabase(path)
        let db = try Database(path: path, migrations: migrations)
        #expect(try db.queryOne("SELECT count(*) FROM blobs")?.int(0) == 400)
    }

    @Test func damagedPagesAreReportedWithTheFile() throws {
        let path = directory.file("damaged.sqlite")
        let size = try makeMultiPageDatabase(path)
        #expect(size > 40 * 4096)
        // Garbage over a few pages in the middle: page headers and cell pointers become nonsense.
        try directory.overwrite("damaged.sqlite", at: size / 2, with: Array(repeating: 0xA5, count: 3 * 4096))

        let error = try #require(throws: StoreError.self) { try Database(path: path, migrations: migrations) }
        #expect(error.operation == "integrity_check")
        #expect(error.path == path)
        #expect(error.primaryResultCode == SQLITE_CORRUPT)
        #expect(error.description.hasPrefix("integrity_check \(path): "))
        // The first finding of quick_check names the damaged page, on one line.
        #expect(error.message.hasPrefix("database is damaged: "))
        #expect(error.message.lowercased().contains("page"))
        #expect(!error.message.contains("\n"))
    }

    @Test func nonDatabaseFileIsRefusedClearly() throws {
        try directory.write("notes.sqlite", String(repeating: "this is not a database\n", count: 300))
        let path = directory.file("notes.sqlite")
        let error = try #require(throws: StoreError.self) { try Database(path: path, migrations: migrations) }
        #expect(error.resultCode == SQLITE_NOTADB)
        #expect(error.operation == "open")
        #expect(error.path == path)
        #expect(error.message == "file is not a database")
    }

    @Test func unopenablePathNamesTheFile() throws {
        let path = directory.file("no/such/dir/x.sqlite")
        let error = try #require(throws: StoreError.self) { try Database(path: path, migrations: migrations) }
        #expect(error.primaryResultCode == SQLITE_CANTOPEN)
        #expect(error.operation == "open")
        #expect(error.path == path)
    }
}
