import FleetLoop
import FleetStore
import Logging

/// Sign-in names (Graph UPNs) that are not the address a person is cached under, so a panel may
/// send either as an email credential.
///
/// Kept beside the users table, not in it: a full run that applied replaces its source's names
/// afterwards (a new generation written, then the older one deleted), a delta round updates the
/// people it changed. A name always points at a user id, and the user row decides, so a name
/// written a few milliseconds after its apply is never wrong, only briefly missing. 100,000
/// names are written a slice per loop pass.
final class UPNAliases {
    let store: DirectoryStore
    let logger: Logger
    var loop: Reactor? {
        get { slices.loop }
        set { slices.loop = newValue }
    }
    var sliceRows = 200
    var sliceGap: Duration {
        get { slices.gap }
        set { slices.gap = newValue }
    }
    private let slices = SliceQueue<Job>()
    /// Generations handed out, so two replaces queued back to back never share one.
    private var issued: [String: Int] = [:]

    private enum Job {
        /// Write `names` from `from` under `generation`, then delete the source's older ones.
        case replace(source: String, names: [(upn: String, externalID: String)], generation: Int, from: Int)
        case dropOlder(source: String, generation: Int)
        /// Per user: forget their names, then keep the new one if any.
        case update(source: String, names: [(userID: String, upn: String?)], from: Int)
    }

    init(store: DirectoryStore, logger: Logger) {
        self.store = store
        self.logger = logger
        slices.step = { [unowned self] job throws(DirectoryError) in try step(&job) }
        slices.failed = { _, error in
            logger.error("sign-in names not written; the next full run writes them again", metadata: ["error": "\(error)"])
        }
    }

    /// After a full run of `snapshot` applied: its source's names become exactly the snapshot's.
    func replace(with snapshot: DirectorySnapshot) {
        // User ids are hashed a slice at a time, in the writes: 100,000 at once would hold the loop.
        var names: [(upn: String, externalID: String)] = []
        for person in snapshot.people {
            if let upn = person.upn { names.append((upn, person.externalID)) }
        }
        let stored = (try? store.meta(Self.generationKey(snapshot.source))).flatMap { $0.flatMap { Int($0) } }
        // A source that never had names and has none now (CSV) costs nothing.
        if names.isEmpty && stored == nil && issued[snapshot.source] == nil { return }
        let generation = max(stored ?? 0, issued[snapshot.source] ?? 0) + 1
        issued[snapshot.source] = generation
        enqueue(.replace(source: snapshot.source, names: names, generation: generation, from: 0))
    }

    /// After a delta round applied: the sign-in names its changes carry, against each person's
    /// cached address as it is now (people the cache does not hold are left to full runs).
    func update(source: String, changes: [GraphUser]) {
        var names: [(userID: String, upn: String?)] = []
        for change in changes where change.userPrincipalName != nil {
            let id = User.stableID(source: source, externalID: change.id)
            guard let user = try? store.user(id: id) else { continue }
            names.append((id, change.upnAlias(email: user.email)))
        }
        if !names.isEmpty { enqueue(.update(source: source, names: names, from: 0)) }
    }

    static func generationKey(_ source: String) -> String { "upn_generation:" + source }

    // MARK: - Slices

    private func enqueue(_ job: Job) { slices.enqueue(job) }

    private func step(_ job: inout Job) throws(DirectoryError) -> Bool {
        switch job {
        case .replace(let source, let names, let generation, let from):
            let end = min(from + sliceRows, names.count)
            try store.writeUPNs(source: source, names[from..<end], generation: generation)
            guard end == names.count else {
                job = .replace(source: source, names: names, generation: generation, from: end)
                return false
            }
            job = .dropOlder(source: source, generation: generation)
            return false
        case .dropOlder(let source, let generation):
            return try store.dropOlderUPNs(source: source, generation: generation, limit: sliceRows)
        case .update(let source, let names, let from):
            let end = min(from + sliceRows, names.count)
            try store.updateUPNs(source: source, names[from..<end])
            job = .update(source: source, names: names, from: end)
            return end == names.count
        }
    }
}

@available(*, unavailable) extension UPNAliases: Sendable {}

// The user_upns table.
extension DirectoryStore {
    static let upnAliasesMigration = Migration("directory-v4-upn-aliases", """
        -- Sign-in names that are not a person's cached address (Graph UPNs): an email credential
        -- matches either. generation: the full run that wrote the name; older ones are deleted.
        CREATE TABLE user_upns(
            upn TEXT PRIMARY KEY COLLATE NOCASE,
            user_id TEXT NOT NULL,
            source TEXT NOT NULL,
            generation INTEGER NOT NULL
        );
        CREATE INDEX user_upns_source ON user_upns(source, generation);
        CREATE INDEX user_upns_user ON user_upns(user_id);
        -- A held full answer keeps its people's sign-in names too.
        ALTER TABLE held_rows ADD COLUMN upn TEXT;
        """)

    /// The user signing in as `upn` (ignoring case and surrounding blanks), when it is not their
    /// cached address.
    public func user(upn: String) throws(DirectoryError) -> User? {
        let row = try Self.wrap("user(upn:)") { () throws(StoreError) in
            try db.queryOne("SELECT \(Self.userColumns) FROM users WHERE id = (SELECT user_id FROM user_upns WHERE upn = ?)",
                            [.text(Person.trimmed(upn).lowercased())])
        }
        return row.flatMap(Self.user(from:))
    }

    func writeUPNs(source: String, _ names: ArraySlice<(upn: String, externalID: String)>, generation: Int) throws(DirectoryError) {
        try Self.wrap("writeUPNs") { () throws(StoreError) in
            do {
                try db.transaction {
                    for name in names {
                        try db.execute("""
                            INSERT INTO user_upns (upn, user_id, source, generation) VALUES (?, ?, ?, ?)
                            ON CONFLICT(upn) DO UPDATE SET user_id = excluded.user_id, source = excluded.source,
                                generation = excluded.generation
                            """, [.text(name.upn), .text(User.stableID(source: source, externalID: name.externalID)), .text(source),
                                  .integer(Int64(generation))])
                    }
                    try setMeta(UPNAliases.generationKey(source), String(generation))
                }
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(resultCode: 1, message: "\(error)", operation: "writeUPNs")
            }
        }
    }

    /// Deletes up to `limit` names of `source` older than `generation`; true when none are left.
    func dropOlderUPNs(source: String, generation: Int, limit: Int) throws(DirectoryError) -> Bool {
        try Self.wrap("dropOlderUPNs") { () throws(StoreError) in
            try db.execute("""
                DELETE FROM user_upns WHERE rowid IN
                    (SELECT rowid FROM user_upns WHERE source = ? AND generation < ? LIMIT ?)
                """, [.text(source), .integer(Int64(generation)), .integer(Int64(limit))])
            return db.changes == 0
        }
    }

    func updateUPNs(source: String, _ names: ArraySlice<(userID: String, upn: String?)>) throws(DirectoryError) {
        let generation = Int64((try? meta(UPNAliases.generationKey(source))).flatMap { $0.flatMap { Int($0) } } ?? 0)
        try Self.wrap("updateUPNs") { () throws(StoreError) in
            do {
                try db.transaction {
                    for name in names {
                        try db.execute("DELETE FROM user_upns WHERE user_id = ?", [.text(name.userID)])
                        guard let upn = name.upn else { continue }
                        try db.execute("""
                            INSERT INTO user_upns (upn, user_id, source, generation) VALUES (?, ?, ?, ?)
                            ON CONFLICT(upn) DO UPDATE SET user_id = excluded.user_id, source = excluded.source,
                                generation = excluded.generation
                            """, [.text(upn), .text(name.userID), .text(source), .integer(generation)])
                    }
                }
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(resultCode: 1, message: "\(error)", operation: "updateUPNs")
            }
        }
    }
}

extension GraphUser {
    /// The sign-in name when it is not the address the person is cached under, so an email
    /// credential may be either. Compared raw first: in most tenants mail and UPN are the same.
    func upnAlias(email: String) -> String? {
        guard let raw = userPrincipalName ?? nil, raw != (mail ?? nil), let upn = Person.normalizedEmail(raw), upn != email
        else { return nil }
        return upn
    }
}
