/// Prepared statements by SQL text, bounded, evicting the least recently used.
///
/// The daemon runs a small fixed set of statements at high rates (telemetry inserts, lookups per
/// authorization), so preparing each once saves the parse and plan on every call. Eviction scans
/// all entries, which is cheap at this size and only happens on a miss when full.
struct StatementCache {
    let capacity: Int
    private var entries: [String: Statement] = [:]
    private var tick: UInt64 = 0

    init(capacity: Int) {
        precondition(capacity > 0, "statement cache needs room for at least one statement")
        self.capacity = capacity
    }

    var count: Int { entries.count }

    /// The cached statement for `sql`, marked as just used.
    mutating func lookup(_ sql: String) -> Statement? {
        guard let statement = entries[sql] else { return nil }
        tick += 1
        statement.lastUsed = tick
        return statement
    }

    /// Adds a statement, evicting the least recently used one when full. An evicted statement
    /// that a caller still iterates stays alive until that caller lets go of it.
    mutating func insert(_ statement: Statement) {
        if entries.count >= capacity, let victim = entries.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            entries[victim.key] = nil
        }
        tick += 1
        statement.lastUsed = tick
        entries[statement.sql] = statement
    }

    func contains(_ sql: String) -> Bool { entries[sql] != nil }

    mutating func removeAll() {
        entries.removeAll()
    }
}
