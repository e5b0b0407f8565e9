import Foundation
import FleetTestSupport
import Testing

@testable import FleetStore

/// WAL checkpoint control: a busy writer turns SQLite's automatic checkpoint off and runs small
/// ones itself between commits.
@Suite struct CheckpointTests {
    let directory = TemporaryDirectory()

    @Test func withAutomaticCheckpointsOffTheOwnerCopiesTheWALBack() throws {
        let db = try Database(path: directory.file("wal.sqlite"), migrations: [Migration("t-v1", "CREATE TABLE t (x BLOB);")])
        #expect(try db.autoCheckpointPages() == 1000)  // SQLite's default
        try db.setAutoCheckpoint(pages: 0)
        #expect(try db.autoCheckpointPages() == 0)
        // Over 1,000 pages in one commit: SQLite alone would have checkpointed inside it.
        try db.transaction {
            for _ in 0..<1_200 { try db.execute("INSERT INTO t VALUES (?)", [.blob(Array(repeating: 7, count: 4_000))]) }
        }
        let result = try db.checkpoint(.passive)
        #expect(result.logFrames >= 1_200)
        #expect(result.checkpointedFrames == result.logFrames)
        // Everything copied: the next commit starts the WAL over, so it holds only that commit.
        try db.execute("INSERT INTO t VALUES (?)", [.blob([1])])
        let next = try db.checkpoint(.truncate)
        #expect(next.logFrames < 10)
        #expect(try db.queryOne("SELECT count(*) FROM t")?.int(0) == 1_201)
    }

    @Test func theWALSizeIsKnownAfterEachCommit() throws {
        let db = try Database(path: directory.file("frames.sqlite"), migrations: [Migration("t-v1", "CREATE TABLE t (x BLOB);")])
        try db.trackWALFrames()
        #expect(try db.autoCheckpointPages() == 0)  // the hook replaced the automatic checkpoint
        #expect(db.walFrames == 0)
        try db.execute("INSERT INTO t VALUES (?)", [.blob(Array(repeating: 1, count: 3 * 4_096))])
        let afterOne = db.walFrames
        #expect(afterOne >= 3)
        try db.execute("INSERT INTO t VALUES (?)", [.blob([2])])
        #expect(db.walFrames > afterOne)
        try db.checkpoint()
        #expect(db.walFrames == 0)
    }

    /// The WAL's pages start for the disk every 64 frames through a read-only fd of the WAL file,
    /// which must not outlive the connection (a daemon reopens databases on restore).
    @Test func theWALWritebackStartsByItselfAndItsFileIsClosedWithTheDatabase() throws {
        let path = directory.file("writeback.sqlite")
        let db = try Database(path: path, migrations: [Migration("t-v1", "CREATE TABLE t (x BLOB);")])
        try db.trackWALFrames()
        try db.execute("INSERT INTO t VALUES (?)", [.blob([1])])
        #expect(db.walFD == -1)  // a few frames: nothing started yet
        try db.execute("INSERT INTO t VALUES (?)", [.blob(Array(repeating: 1, count: 70 * 4_096))])
        #expect(db.walFD >= 0)
        #expect(Self.openFiles().contains(path + "-wal"))
        // A checkpoint still copies everything; the next commits start a fresh count.
        let result = try db.checkpoint()
        #expect(result.checkpointedFrames == result.logFrames)
        try db.execute("INSERT INTO t VALUES (?)", [.blob([2])])
        #expect(db.framesAtWriteback == 0)
        db.close()
        #expect(!Self.openFiles().contains(path + "-wal"))
    }

    @Test func aWALThatCannotBeOpenedOnlyCostsTheEarlyStart() throws {
        let db = try Database(path: ":memory:", migrations: [Migration("t-v1", "CREATE TABLE t (x BLOB);")])
        db.startWALWriteback()
        #expect(db.walFD == -1)
        let file = try Database(path: directory.file("nowal.sqlite"), migrations: [])
        try file.execute("PRAGMA journal_mode=DELETE")
        file.startWALWriteback()  // no -wal file: given up once, not retried on every commit
        #expect(file.walFD == -2)
    }

    /// The files this process holds open, by path.
    static func openFiles() -> Set<String> {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return Set(fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") })
    }

    @Test func anInMemoryDatabaseHasNothingToCopy() throws {
        let db = try Database(path: ":memory:", migrations: [])
        #expect(try db.checkpoint() == Database.CheckpointResult(logFrames: 0, checkpointedFrames: 0))
    }

    @Test func aClosedDatabaseSaysSo() throws {
        let db = try Database(path: directory.file("closed.sqlite"), migrations: [])
        db.close()
        let error = #expect(throws: StoreError.self) { try db.checkpoint() }
        #expect(error?.operation == "checkpoint")
    }
}
