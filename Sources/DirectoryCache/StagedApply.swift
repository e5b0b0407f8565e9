import FleetLoop
import FleetStore

/// A large plan (a first sync of 100,000 people) applied without stalling the loop.
///
/// The next version of the users table is built beside the live one, on successive loop passes:
/// the table and its indexes first, while it is empty, then the plan's rows and every live row
/// the plan does not change, a slice at a time. Building an index over 100,000 rows at the end
/// would be one uninterruptible statement of 50–100 ms (and a WAL checkpoint as large); kept up
/// per slice, the same work is cut as finely as the rows are. The unique indexes check on every
/// insert that emails, badges and ids stay unique. Readers keep using the live
/// table, complete and unchanged, until the switch: one short transaction of two renames (plus
/// the sync time and delta link). The old table is then emptied in slices and dropped. Overrides
/// keep pointing at `users` by name, so they follow.
///
/// Slices size themselves to stay near `targetSlice` of work.
final class StagedApply {
    enum Phase: Equatable {
        case prepare
        case insertChanges(Int)
        case copy(after: Int64)
        case switchIn
        case dropOld(String)
        case done
    }

    let store: DirectoryStore
    let plan: SyncPlan
    let now: Double
    let meta: [(String, String)]
    private(set) var phase = Phase.prepare
    private(set) var slices = 0
    /// Rows per slice, adapted to keep each slice near `targetSlice`.
    private var rows = 200
    let targetSlice: Duration
    let generation: Int
    /// Ids the plan writes; the copy of the live table skips them.
    private var changed: Set<String>
    private var db: Database { store.db }
    static let next = "users_next"
    /// Rows written since the last checkpoint slice, and the WAL pages each cost at the last
    /// checkpoint (a row lands on a page of the table and of each of its six indexes at first;
    /// later rows share more pages, so the estimate is corrected from what SQLite reports).
    private var rowsSinceCheckpoint = 0
    private var framesPerRow = 7.0
    private var rowsAtWriteback = 0
    /// Rows this slice inserted or deleted.
    private var written = 0
    private(set) var checkpoints = 0
    /// How long the last slice waited (for the disk, or for the CPU) beyond its own work.
    private(set) var waited = Duration.zero
    /// Checkpoint once about this many pages (1.6 MB) were written: copying a page back costs
    /// about 8 µs here, so a checkpoint slice stays near 3 ms plus its two fsyncs, and a 100,000-user
    /// apply checkpoints a few hundred times (SQLite's default of 1,000 pages took 8 ms each).
    static let checkpointFrames = 400
    static let cacheKiB = 32_768
    private var savedSettings: (autocheckpoint: Int64, cacheSize: Int64)?
    /// Writes that must commit with the switch or not at all (the run's outcome): a crash right
    /// after the switch then cannot leave a run `running` whose answer is already live.
    var atSwitch: (() throws(DirectoryError) -> Void)?

    init(store: DirectoryStore, plan: SyncPlan, now: Double, meta: [(String, String)], targetSlice: Duration = .milliseconds(1)) {
        self.store = store
        self.plan = plan
        self.now = now
        self.meta = meta
        self.targetSlice = targetSlice
        // Filled as the changes are inserted: one set of 100,000 ids built at once stalls the loop.
        changed = Set(minimumCapacity: plan.changes.count)
        generation = ((try? store.meta("users_generation")).flatMap { $0.flatMap { Int($0) } } ?? 0) + 1
    }

    var switched: Bool {
        switch phase {
        case .dropOld, .done: true
        default: false
        }
    }

    var isDone: Bool { phase == .done }

    /// The indexes of the users table, made on the shadow table (named for its generation).
    private var indexes: [String] {
        let g = generation
        return [
            "CREATE UNIQUE INDEX users_id_g\(g) ON \(Self.next)(id)",
            "CREATE UNIQUE INDEX users_email_g\(g) ON \(Self.next)(email)",
            "CREATE UNIQUE INDEX users_badge_g\(g) ON \(Self.next)(badge)",
            "CREATE UNIQUE INDEX users_key_g\(g) ON \(Self.next)(source, external_id)",
            "CREATE INDEX users_display_name_g\(g) ON \(Self.next)(display_name)",
            "CREATE INDEX users_inactive_g\(g) ON \(Self.next)(deactivated_at) WHERE active = 0",
        ]
    }

    /// Runs one slice of work.
    func step() throws(DirectoryError) {
        let clock = SystemClock()
        let started = clock.now
        let cpuStarted = Reactor.threadCPUNanoseconds()
        let before = phase
        slices += 1
        written = 0
        if Double(rowsSinceCheckpoint) * framesPerRow >= Double(Self.checkpointFrames) {
            // The pages the last slices wrote go to the database file in a slice of their own
            // (as often as SQLite's automatic checkpoint would), not inside whichever insert
            // crossed the line, which then also shrank the next slices for nothing.
            let frames = try DirectoryStore.wrap("stagedApply.checkpoint") { () throws(StoreError) in
                try db.queryOne("PRAGMA wal_checkpoint(PASSIVE)")?.int64(1) ?? 0
            }
            // The answer says how many pages the WAL held: learn how many a row costs here.
            if frames > 0 { framesPerRow = max(0.5, Double(frames) / Double(rowsSinceCheckpoint)) }
            rowsSinceCheckpoint = 0
            rowsAtWriteback = 0
            checkpoints += 1
            let took = clock.now.since(started)
            let worked = Duration.nanoseconds(Int64(Reactor.threadCPUNanoseconds() &- cpuStarted))
            waited = took > worked ? took - worked : .zero
            return
        }
        try DirectoryStore.wrap("stagedApply") { () throws(StoreError) in
            switch phase {
            case .prepare: try prepare()
            case .insertChanges(let from): try insertChanges(from: from)
            case .copy(let after): try copy(after: after)
            case .switchIn: try switchIn()
            case .dropOld(let table): try dropOld(table)
            case .done: break
            }
        }
        let took = clock.now.since(started)
        let worked = Duration.nanoseconds(Int64(Reactor.threadCPUNanoseconds() &- cpuStarted))
        waited = took > worked ? took - worked : .zero
        rowsSinceCheckpoint += written
        // Every ~256 KB of WAL: its pages start for the disk now, so the checkpoint slice's sync
        // of the WAL finds them written.
        if Double(rowsSinceCheckpoint - rowsAtWriteback) * framesPerRow >= 64 {
            rowsAtWriteback = rowsSinceCheckpoint
            db.startWALWriteback()
        }
        if phase == .done { restoreSettings() }
        if Self.kind(phase) == Self.kind(before) {
            // Aim at the target: scale by how far this slice was from it, growing gently. Wall
            // time, waits included: on a busy box smaller slices keep doors waiting less.
            let scale = min(1.25, max(0.25, targetSlice.seconds / max(took.seconds, 1e-6)))
            rows = min(max(Int(Double(rows) * scale), 20), 50_000)
        }
    }

    private static func kind(_ phase: Phase) -> Int {
        switch phase {
        case .prepare: 0
        case .insertChanges: 1
        case .copy: 2
        case .switchIn: 4
        case .dropOld: 5
        case .done: 6
        }
    }

    /// Puts back what `prepare` changed on the connection; after the last slice or a failure.
    func restoreSettings() {
        guard let saved = savedSettings else { return }
        savedSettings = nil
        try? db.execute("PRAGMA wal_autocheckpoint=\(saved.autocheckpoint)")
        try? db.execute("PRAGMA cache_size=\(saved.cacheSize)")
    }

    /// An empty table with the live table's columns, checks, defaults and indexes.
    private func prepare() throws(StoreError) {
        try db.execute("DROP TABLE IF EXISTS \(Self.next)")
        if savedSettings == nil {
            let autocheckpoint = try db.queryOne("PRAGMA wal_autocheckpoint")?.int64(0) ?? 1000
            let cacheSize = try db.queryOne("PRAGMA cache_size")?.int64(0) ?? -2000
            savedSettings = (autocheckpoint, cacheSize)
        }
        // Checkpoints run as slices of their own (see `step`). A larger page cache keeps the six
        // indexes' pages in memory while 100,000 rows go in at random places in each.
        try db.execute("PRAGMA wal_autocheckpoint=0")
        try db.execute("PRAGMA cache_size=-\(Self.cacheKiB)")
        try db.execute("""
            CREATE TABLE \(Self.next)(
                id TEXT NOT NULL,
                source TEXT NOT NULL,
                external_id TEXT NOT NULL,
                email TEXT NOT NULL COLLATE NOCASE,
                display_name TEXT NOT NULL COLLATE NOCASE,
                role TEXT CHECK (role IN ('hidden_user','user','manager','advanced_manager','admin')),
                active INTEGER NOT NULL,
                hidden INTEGER NOT NULL DEFAULT 0,
                badge TEXT,
                updated_at REAL NOT NULL,
                deactivated_at REAL
            )
            """)
        for index in indexes { try db.execute(index) }
        phase = plan.changes.isEmpty ? .copy(after: -1) : .insertChanges(0)
    }

    private func insertChanges(from: Int) throws(StoreError) {
        let end = min(from + rows, plan.changes.count)
        try inTransaction { () throws(StoreError) in
            for change in plan.changes[from..<end] {
                try store.insert(change.after, table: Self.next)
                changed.insert(change.after.id)
                written += 1
            }
        }
        phase = end < plan.changes.count ? .insertChanges(end) : .copy(after: -1)
    }

    /// Live rows the plan leaves alone, in rowid order.
    private func copy(after: Int64) throws(StoreError) {
        let live = try db.query("SELECT rowid, \(DirectoryStore.userColumns) FROM users WHERE rowid > ? ORDER BY rowid LIMIT ?",
            [.integer(after), .integer(Int64(rows))])
        guard let last = live.last?.int64(0) else {
            phase = .switchIn
            return
        }
        try inTransaction { () throws(StoreError) in
            for row in live {
                guard let id = row.text(1), !changed.contains(id) else { continue }
                try db.execute("INSERT INTO \(Self.next) (\(DirectoryStore.userColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    Array(row.values[1...11]))
                written += 1
            }
        }
        phase = .copy(after: last)
    }

    /// The one short transaction readers notice: two renames. Foreign keys are off and the
    /// legacy rename is on so `overrides` keeps referring to `users` (the new table) by name.
    private func switchIn() throws(StoreError) {
        let old = "users_old_g\(generation)"
        try db.execute("PRAGMA foreign_keys=OFF")
        try db.execute("PRAGMA legacy_alter_table=ON")
        defer {
            try? db.execute("PRAGMA legacy_alter_table=OFF")
            try? db.execute("PRAGMA foreign_keys=ON")
        }
        try inTransaction { () throws(StoreError) in
            try db.execute("ALTER TABLE users RENAME TO \(old)")
            try db.execute("ALTER TABLE \(Self.next) RENAME TO users")
            try store.setMeta(DirectoryStore.lastSyncKey(plan.source), String(now))
            try store.setMeta("users_generation", String(generation))
            for (key, value) in meta { try store.setMeta(key, value) }
            do throws(DirectoryError) { try atSwitch?() } catch {
                throw StoreError(resultCode: 1, message: error.description, operation: "stagedApply.switch")
            }
        }
        changed = []
        phase = .dropOld(old)
    }

    private func dropOld(_ table: String) throws(StoreError) {
        try db.execute("DELETE FROM \(table) WHERE rowid IN (SELECT rowid FROM \(table) LIMIT ?)", [.integer(Int64(rows))])
        written += db.changes
        if db.changes == 0 {
            try db.execute("DROP TABLE \(table)")
            phase = .done
        }
    }

    private func inTransaction(_ body: () throws(StoreError) -> Void) throws(StoreError) {
        do {
            try db.transaction { try body() }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(resultCode: 1, message: "\(error)", operation: "stagedApply")
        }
    }
}

@available(*, unavailable) extension StagedApply: Sendable {}

extension DirectoryStore {
    /// Drops what an apply cut short by a stop or a crash left behind: the unfinished next table
    /// (never read: the live one was not touched) and old tables not yet emptied after a switch.
    /// Once at start, before any apply; returns the tables dropped.
    func dropStagingLeftovers() throws(DirectoryError) -> [String] {
        try Self.wrap("dropStagingLeftovers") { () throws(StoreError) in
            let tables = try db.query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND (name = ? OR name GLOB 'users_old_g[0-9]*')",
                [.text(StagedApply.next)]
            ).compactMap { $0.text(0) }
            for table in tables { try db.execute("DROP TABLE \"\(table)\"") }
            return tables
        }
    }

    /// Up to `limit` users with an id after `id` (from the first when nil), in id order: the
    /// cache read a page at a time.
    func users(after id: String?, limit: Int) throws(DirectoryError) -> [User] {
        let rows = try Self.wrap("users(after:)") { () throws(StoreError) in
            try db.query("SELECT \(Self.userColumns) FROM users WHERE id > ? ORDER BY id LIMIT ?",
                [.text(id ?? ""), .integer(Int64(limit))])
        }
        return rows.compactMap(Self.user(from:))
    }
}
