import FleetJSON
import FleetStore

// The held_runs and held_rows tables.
extension DirectoryStore {
    /// Held answers (`held_runs`, `held_rows`) and nothing else: pins live in `meta`.
    static let heldRunsMigration = Migration("directory-v3-held-runs", """
        -- A held run's answer, kept until it is confirmed or replaced, so `sync apply ID` works
        -- after a restart. state: writing (rows still coming), held, dropping (rows going).
        CREATE TABLE held_runs(
            run_id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('full','delta')),
            state TEXT NOT NULL CHECK (state IN ('writing','held','dropping')),
            origin TEXT NOT NULL,
            admin_remedy TEXT NOT NULL,
            delta_link TEXT,
            pins TEXT NOT NULL DEFAULT '{}',
            rows INTEGER NOT NULL
        );
        -- Full answers use the person columns; delta answers keep each change as a Graph item.
        CREATE TABLE held_rows(
            run_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            external_id TEXT,
            email TEXT,
            display_name TEXT,
            role TEXT,
            badge TEXT,
            active INTEGER,
            item TEXT,
            PRIMARY KEY (run_id, seq)
        );
        """)

    struct HeldHeader {
        var runID: Int64
        var source: String
        var kind: String
        var state: String
        var origin: String
        var adminRemedy: String
        var deltaLink: String?
        var pins: [Role: String]
        var rows: Int
    }

    func heldHeaders() throws(DirectoryError) -> [HeldHeader] {
        let rows = try Self.wrap("heldHeaders") { () throws(StoreError) in
            try db.query("SELECT run_id, source, kind, state, origin, admin_remedy, delta_link, pins, rows FROM held_runs ORDER BY run_id")
        }
        return rows.compactMap { row in
            guard let id = row.int64(0), let source = row.text(1), let kind = row.text(2), let state = row.text(3) else { return nil }
            var pins: [Role: String] = [:]
            for (key, value) in (row.text(7).flatMap { try? JSON.parse($0) }?.object ?? [:]) {
                if let role = Role(rawValue: key), let id = value.string { pins[role] = id }
            }
            return HeldHeader(runID: id, source: source, kind: kind, state: state, origin: row.text(4) ?? source,
                              adminRemedy: row.text(5) ?? "", deltaLink: row.text(6), pins: pins,
                              rows: Int(row.int64(8) ?? 0))
        }
    }

    func beginHeld(_ id: Int64, _ answer: HeldAnswer) throws(DirectoryError) {
        var values: [SQLValue] = [.integer(id), .text(answer.source), .text(answer.isDelta ? "delta" : "full")]
        switch answer {
        case .full(let s):
            var pins = JSONObject()
            for (role, group) in s.groupPins { pins[role.rawValue] = JSON(group) }
            values += [.text(s.origin), .text(s.adminRemedy), SQLValue(s.deltaLink), .text(JSON.object(pins).serialized())]
        case .delta(let changes, let label):
            values += [.text(label.origin), .text(label.adminRemedy), .text(changes.deltaLink), .text("{}")]
        }
        values.append(.integer(Int64(answer.count)))
        try Self.wrap("beginHeld") { () throws(StoreError) in
            try db.execute("DELETE FROM held_rows WHERE run_id = ?", [.integer(id)])
            try db.execute("""
                INSERT OR REPLACE INTO held_runs (run_id, source, kind, state, origin, admin_remedy, delta_link, pins, rows)
                VALUES (?, ?, ?, 'writing', ?, ?, ?, ?, ?)
                """, values)
        }
    }

    /// Rows `range` of the answer in one transaction; the last slice marks the answer complete.
    func writeHeld(_ id: Int64, _ answer: HeldAnswer, _ range: Range<Int>, complete: Bool) throws(DirectoryError) {
        try Self.wrap("writeHeld") { () throws(StoreError) in
            do {
                try db.transaction {
                    for seq in range {
                        switch answer {
                        case .full(let s):
                            let p = s.people[seq]
                            try db.execute("""
                                INSERT INTO held_rows (run_id, seq, external_id, email, display_name, role, badge, active, upn)
                                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                                """, [.integer(id), .integer(Int64(seq)), .text(p.externalID), .text(p.email),
                                      .text(p.displayName), SQLValue(p.role?.rawValue), SQLValue(p.badge), SQLValue(p.active),
                                      SQLValue(p.upn)])
                        case .delta(let changes, _):
                            try db.execute("INSERT INTO held_rows (run_id, seq, item) VALUES (?, ?, ?)",
                                           [.integer(id), .integer(Int64(seq)), .text(changes.changes[seq].heldItem.serialized())])
                        }
                    }
                    if complete {
                        try db.execute("UPDATE held_runs SET state = 'held' WHERE run_id = ? AND state = 'writing'", [.integer(id)])
                    }
                }
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(resultCode: 1, message: "\(error)", operation: "writeHeld")
            }
        }
    }

    func readHeld(_ id: Int64, from: Int, limit: Int, into loaded: HeldRuns.Loaded) throws(DirectoryError) -> Int {
        let rows = try Self.wrap("readHeld") { () throws(StoreError) in
            try db.query("""
                SELECT external_id, email, display_name, role, badge, active, item, upn FROM held_rows
                WHERE run_id = ? AND seq >= ? ORDER BY seq LIMIT ?
                """, [.integer(id), .integer(Int64(from)), .integer(Int64(limit))])
        }
        for row in rows {
            if loaded.header.kind == "delta" {
                guard let item = row.text(6).flatMap({ try? JSON.parse($0) }),
                    let change = GraphUser.decode(item, badgeAttribute: .employeeID)
                else { throw DirectoryError(.store, reason: "a saved change of run \(id) is damaged", operation: "readHeld") }
                loaded.changes.append(change)
            } else {
                guard let externalID = row.text(0), let email = row.text(1), let name = row.text(2) else {
                    throw DirectoryError(.store, reason: "a saved person of run \(id) is damaged", operation: "readHeld")
                }
                var person = Person(externalID: externalID, email: email, displayName: name,
                                    role: row.text(3).flatMap(Role.init(rawValue:)), badge: row.text(4),
                                    active: row.bool(5) ?? false)
                person.upn = row.text(7)
                loaded.people.append(person)
            }
        }
        return rows.count
    }

    func markHeldDropping(_ id: Int64) throws(DirectoryError) {
        try Self.wrap("markHeldDropping") { () throws(StoreError) in
            try db.execute("UPDATE held_runs SET state = 'dropping' WHERE run_id = ?", [.integer(id)])
        }
    }

    /// Deletes up to `limit` rows of run `id`; once none are left, its header too (true).
    func dropHeldSlice(_ id: Int64, limit: Int) throws(DirectoryError) -> Bool {
        try Self.wrap("dropHeldSlice") { () throws(StoreError) in
            try db.execute("DELETE FROM held_rows WHERE rowid IN (SELECT rowid FROM held_rows WHERE run_id = ? LIMIT ?)",
                           [.integer(id), .integer(Int64(limit))])
            guard db.changes == 0 else { return false }
            try db.execute("DELETE FROM held_runs WHERE run_id = ?", [.integer(id)])
            return true
        }
    }

    /// What a start did with the runs the previous process left `running`.
    struct InterruptedRuns {
        /// Confirmations whose held answer is saved whole: held again.
        var heldAgain: [Int64] = []
        /// Every other run: failed.
        var failed = 0
    }

    /// Settles the runs left `running`, in one transaction. Only a confirmation has a held answer
    /// while `running` (a sync's answer is saved once its run is recorded held): one saved whole
    /// is held again with `note` added once; one still being saved fails with `unsaved`; any
    /// other run (a sync, or a confirmation whose answer a newer held run replaced) with `otherwise`.
    func settleInterruptedRuns(
        at now: Double, note: (Int64) -> String, unsaved: String, otherwise: String
    ) throws(DirectoryError) -> InterruptedRuns {
        try Self.wrap("settleInterruptedRuns") { () throws(StoreError) in
            do {
                return try db.transaction {
                    var out = InterruptedRuns()
                    let confirming = try db.query("""
                        SELECT r.id, r.reason, h.state FROM sync_runs r JOIN held_runs h ON h.run_id = r.id
                        WHERE r.status = 'running' AND h.state IN ('held', 'writing')
                        """)
                    for row in confirming {
                        guard let id = row.int64(0) else { continue }
                        guard row.text(2) == "held" else {
                            try db.execute("UPDATE sync_runs SET status = 'failed', reason = ?, finished_at = ? WHERE id = ?",
                                           [.text(unsaved), .real(now), .integer(id)])
                            out.failed += 1
                            continue
                        }
                        let held = row.text(1) ?? ""
                        let added = note(id)
                        let reason = held.hasSuffix(added) ? held : held.isEmpty ? added : held + "; " + added
                        try db.execute("UPDATE sync_runs SET status = 'held', reason = ?, finished_at = ? WHERE id = ?",
                                       [.text(reason), .real(now), .integer(id)])
                        out.heldAgain.append(id)
                    }
                    try db.execute("UPDATE sync_runs SET status = 'failed', reason = ?, finished_at = ? WHERE status = 'running'",
                                   [.text(otherwise), .real(now)])
                    out.failed += db.changes
                    return out
                }
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(resultCode: 1, message: "\(error)", operation: "settleInterruptedRuns")
            }
        }
    }

    /// Rows of held answers still in the file (tests check they go).
    public func heldRowCount() throws(DirectoryError) -> Int {
        let row = try Self.wrap("heldRowCount") { () throws(StoreError) in try db.queryOne("SELECT count(*) FROM held_rows") }
        return Int(row?.int64(0) ?? 0)
    }

    // MARK: - Pinned role groups

    static func pinKey(_ source: String, _ role: Role) -> String { "pin:\(source):\(role.rawValue)" }

    /// Role → group id as the source's last applied run resolved them.
    public func groupPins(source: String) throws(DirectoryError) -> [Role: String] {
        var pins: [Role: String] = [:]
        for role in Role.allCases {
            if let id = try meta(Self.pinKey(source, role)) { pins[role] = id }
        }
        return pins
    }
}

extension GraphUser {
    /// The change as a Graph delta item (badge under `employeeId`), decoded back with the same
    /// decoder that read it: absent fields stay absent, so a partial change stays partial.
    var heldItem: JSON {
        var o: JSONObject = ["id": JSON(id)]
        if let v = mail { o["mail"] = JSON(v) }
        if let v = userPrincipalName { o["userPrincipalName"] = JSON(v) }
        if let v = displayName { o["displayName"] = JSON(v) }
        if let v = accountEnabled { o["accountEnabled"] = v.map(JSON.bool) ?? .null }
        if let v = badge { o["employeeId"] = JSON(v) }
        if removed { o["@removed"] = ["reason": "changed"] }
        return .object(o)
    }
}
