import CFleetShims
import Glibc

/// WAL checkpoint control for a writer that must not stall its loop.
///
/// By default SQLite checkpoints inside the `COMMIT` that pushes the WAL past 1,000 pages: that
/// one commit then copies ~4 MB back into the database file and syncs it twice, tens of
/// milliseconds on the loop thread (perf_limits.md §4: commit p99 7–10 ms at 1,000 rows per
/// commit is the checkpoint). A busy writer turns that off with ``setAutoCheckpoint(pages:)`` and
/// calls ``checkpoint(_:)`` itself between commits, when it suits the loop (by WAL size from
/// ``walFrames``, or when writes pause).
extension Database {
    /// What a checkpoint may do to other connections (`sqlite3_wal_checkpoint_v2`).
    public enum CheckpointMode: Sendable {
        /// Copies what no reader still needs; never waits for a lock.
        case passive
        /// Also empties the WAL file's tail once everything is copied (waits for readers).
        case truncate

        var code: Int32 { self == .passive ? SQLITE_CHECKPOINT_PASSIVE : SQLITE_CHECKPOINT_TRUNCATE }
    }

    /// The outcome of one checkpoint, in WAL frames (one page each).
    public struct CheckpointResult: Equatable, Sendable {
        /// Frames in the WAL when the checkpoint ran.
        public var logFrames: Int
        /// Frames copied into the database file so far (the WAL restarts once all are copied).
        public var checkpointedFrames: Int

        public init(logFrames: Int, checkpointedFrames: Int) {
            self.logFrames = logFrames
            self.checkpointedFrames = checkpointedFrames
        }
    }

    /// Checkpoints after a commit once the WAL holds `pages` frames; 0 turns that off, so the
    /// owner must call ``checkpoint(_:)`` or the WAL file grows without bound.
    public func setAutoCheckpoint(pages: Int) throws(StoreError) {
        let sql = "PRAGMA wal_autocheckpoint = \(max(pages, 0))"
        _ = try queryOne(sql)
    }

    /// Keeps ``walFrames`` up to date after every commit, so the owner can checkpoint by size.
    /// This takes SQLite's commit hook for the WAL, which is what runs the automatic checkpoint:
    /// from here on only ``checkpoint(_:)`` copies the WAL back.
    ///
    /// It also starts writing the WAL's new pages to disk every ``writebackFrames`` frames, without
    /// waiting (synchronous=NORMAL commits leave them in the page cache). A checkpoint begins by
    /// syncing the WAL: with megabytes still dirty that sync alone held the loop ~7 ms per 10 MB;
    /// started early, it finds them written (0.3 ms).
    public func trackWALFrames() throws(StoreError) {
        guard let handle else {
            throw StoreError(resultCode: SQLITE_MISUSE, message: "database is closed", operation: "wal_hook", path: path)
        }
        sqlite3_wal_hook(handle, { context, _, _, frames in
            let db = Unmanaged<Database>.fromOpaque(context!).takeUnretainedValue()
            db.walFrames = Int(frames)
            db.startWALWritebackByFrames()
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// 256 KB of WAL between two writeback starts: one syscall per few commits of a flood.
    static let writebackFrames = 64

    private func startWALWritebackByFrames() {
        // The WAL starts over after a full checkpoint: count from its new beginning.
        if walFrames < framesAtWriteback { framesAtWriteback = 0 }
        guard walFrames - framesAtWriteback >= Self.writebackFrames else { return }
        framesAtWriteback = walFrames
        startWALWriteback()
    }

    /// Starts writing the WAL's dirty pages to disk without waiting for them, so that the sync at
    /// the start of the next checkpoint finds little left to do. For writers that checkpoint by
    /// their own count (``trackWALFrames()`` does this by itself).
    public func startWALWriteback() {
        guard walFD != -2, path != ":memory:", !path.isEmpty else { return }
        if walFD < 0 {
            // The WAL exists once a commit went through it. A file we cannot open costs only the
            // early start; the checkpoint still syncs it.
            walFD = open(path + "-wal", O_RDONLY | O_CLOEXEC)
            if walFD < 0 { walFD = -2; return }
        }
        _ = cfs_start_writeback(walFD)
    }

    /// The current `wal_autocheckpoint` setting in pages.
    public func autoCheckpointPages() throws(StoreError) -> Int {
        try queryOne("PRAGMA wal_autocheckpoint")?.int(0) ?? 0
    }

    /// Runs a checkpoint of the main database now. In-memory databases answer (-1, -1) from
    /// SQLite; they are reported as (0, 0).
    @discardableResult
    public func checkpoint(_ mode: CheckpointMode = .passive) throws(StoreError) -> CheckpointResult {
        guard let handle else {
            throw StoreError(resultCode: SQLITE_MISUSE, message: "database is closed", operation: "checkpoint", path: path)
        }
        var log: Int32 = 0
        var copied: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(handle, "main", mode.code, &log, &copied)
        // BUSY means a reader or writer held what a stronger mode needed: some frames were still
        // copied, and the next checkpoint continues. Not a failure for a periodic checkpoint.
        guard code == SQLITE_OK || code == SQLITE_BUSY else {
            throw StoreError.current(handle, operation: "checkpoint", path: path)
        }
        let result = CheckpointResult(logFrames: max(Int(log), 0), checkpointedFrames: max(Int(copied), 0))
        // All copied: the next commit starts the WAL over.
        if result.checkpointedFrames == result.logFrames { walFrames = 0 }
        return result
    }
}
