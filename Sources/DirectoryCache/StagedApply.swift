import FleetLoop
import FleetStore

/// A large plan (a first sync of 100,000 people) applied without stalling the loop.
///
/// The next version of the users table is built beside the live one, in short slices on
/// successive loop passes: the live rows are copied, then the plan's changes are written into the
/// copy. Readers keep using the live table, which stays complete and unchanged. The switch is one
/// short transaction of two renames (plus the sync time and delta link); the old table is then
/// emptied in slices and dropped. Overrides keep pointing at `users` by name, so they follow.
///
/// Slices size themselves to stay near `targetSlice` of work.
final class StagedApply {
    enum Phase: Equatable {
        case prepare
        case copy(after: Int64)
        case clear(Int)
        case upsert(Int)
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
    private var rows = 500
    let targetSlice: Duration
    let generation: Int
    private var db: Database { store.db }
    static let next = "users_next"

    init(store: DirectoryStore, plan: SyncPlan, now: Double, meta: [(String, String)], targetSlice: Duration = .milliseconds(2)) {
        self.store = store
        self.plan = plan
        self.now = now
        self.meta = meta
        self.targetSlice = targetSlice
        generation = ((try? store.meta("users_generation")).flatMap { $0.flatMap { Int($0) } } ?? 0) + 1
    }

    var switched: Bool {
        switch phase {
        case .dropOld, .done: true
        default: false
        }
    }

    var isDone: Bool { phase == .done }

    /// Runs one slice of work.
    func step() throws(DirectoryError) {
        let clock = SystemClock()
        let started = clock.now
        slices += 1
        try DirectoryStore.wrap("stagedApply") { () throws(StoreError) in
            switch phase {
            case .prepare: try prepare()
            case .copy(let after): try copy(after: after)
            case .clear(let from): try changes(from: from, clear: true)
            case .upsert(let from): try changes(from: from, clear: false)
            case .switchIn: try switchIn()
            case .dropOld(let table): try dropOld(table)
            case .done: break
            }
        }
        let took = clock.now.since(started)
        if took < targetSlice / 2 { rows = min(rows * 2, 20_000) } else if took > targetSlice { rows = max(rows / 2, 50) }
    }

    /// The shadow table with the live table's exact schema and indexes (named for this generation).
    private func prepare() throws(StoreError) {
        try db.execute("DROP TABLE IF EXISTS \(Self.next)")
        guard let tableSQL = try db.queryOne("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'")?.text(0),
            let open = tableSQL.firstIndex(of: "(")
        else { throw StoreError(resultCode: 1, message: "no users table", operation: "stagedApply") }
        try db.execute("CREATE TABLE \(Self.next)" + tableSQL[open...])
        for row in try db.query("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL") {
            guard let name = row.text(0), let sql = row.text(1), let on = sql.firstRange(of: " ON "),
                let paren = sql[on.upperBound...].firstIndex(of: "(")
            else { continue }
            var base = name
            if let mark = base.ranges(of: "_g").last, Int(base[mark.upperBound...]) != nil {
                base = String(base[..<mark.lowerBound])
            }
            try db.execute("CREATE INDEX \(base)_g\(generation) ON \(Self.next)" + sql[paren...])
        }
        phase = .copy(after: -1)
    }

    private func copy(after: Int64) throws(StoreError) {
        let bound = try db.queryOne("SELECT max(rowid), count(*) FROM (SELECT rowid FROM users WHERE rowid > ? ORDER BY rowid LIMIT ?)",
            [.integer(after), .integer(Int64(rows))])
        guard let last = bound?.int64(0), (bound?.int64(1) ?? 0) > 0 else {
            phase = plan.changes.isEmpty ? .switchIn : .clear(0)
            return
        }
        try inTransaction { () throws(StoreError) in
            try db.execute("INSERT INTO \(Self.next) (\(DirectoryStore.userColumns)) SELECT \(DirectoryStore.userColumns) FROM users WHERE rowid > ? AND rowid <= ?",
                [.integer(after), .integer(last)])
        }
        phase = .copy(after: last)
    }

    private func changes(from: Int, clear: Bool) throws(StoreError) {
        let end = min(from + rows, plan.changes.count)
        try inTransaction { () throws(StoreError) in
            for change in plan.changes[from..<end] {
                if clear { try store.clearMoving(change, table: Self.next) } else { try store.upsert(change.after, table: Self.next) }
            }
        }
        if end < plan.changes.count {
            phase = clear ? .clear(end) : .upsert(end)
        } else {
            phase = clear ? .upsert(0) : .switchIn
        }
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
        }
        phase = .dropOld(old)
    }

    private func dropOld(_ table: String) throws(StoreError) {
        try db.execute("DELETE FROM \(table) WHERE rowid IN (SELECT rowid FROM \(table) LIMIT ?)", [.integer(Int64(rows))])
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
