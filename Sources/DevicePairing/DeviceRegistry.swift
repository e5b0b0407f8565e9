import FleetLoop
import FleetStore

/// A device the controller answers: pre-provisioned from config now, paired by code later.
public struct DeviceRecord: Sendable, Equatable {
    public var id: String
    /// room_display | kiosk | checkin_panel | people_counter | eink_display
    public var kind: String
    /// The slot it serves, e.g. "hq/lobby". Policy (minimum role, actions) hangs off the resource.
    public var resource: String
    public var name: String?
    public var minimumRole: String?
    public var actions: [String]?
    /// "config" for pre-provisioned devices.
    public var origin: String
    public var createdAt: Double
    public var lastSeen: Double?

    public init(id: String, kind: String, resource: String, name: String? = nil, minimumRole: String? = nil,
                actions: [String]? = nil, origin: String = "config", createdAt: Double = 0, lastSeen: Double? = nil) {
        self.id = id
        self.kind = kind
        self.resource = resource
        self.name = name
        self.minimumRole = minimumRole
        self.actions = actions
        self.origin = origin
        self.createdAt = createdAt
        self.lastSeen = lastSeen
    }
}

/// `devices.sqlite`: the devices the controller knows. Reads are served from memory (a door asks on
/// every badge); writes go through to SQLite.
public final class DeviceRegistry {
    private let db: Database
    private let clock: any Clock
    private var byID: [String: DeviceRecord] = [:]

    static let migrations = [
        Migration("devices-v1", """
            CREATE TABLE devices (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                resource TEXT NOT NULL,
                name TEXT,
                minimum_role TEXT,
                actions TEXT,
                origin TEXT NOT NULL,
                created_at REAL NOT NULL,
                last_seen REAL
            );
            CREATE INDEX devices_resource ON devices(resource);
            """),
    ]

    public init(path: String, clock: any Clock) throws(StoreError) {
        db = try Database(path: path, migrations: Self.migrations)
        self.clock = clock
        for row in try db.query("SELECT id, kind, resource, name, minimum_role, actions, origin, created_at, last_seen FROM devices") {
            let d = DeviceRecord(id: row.text(0) ?? "", kind: row.text(1) ?? "", resource: row.text(2) ?? "",
                                 name: row.text(3), minimumRole: row.text(4),
                                 actions: row.text(5).map { $0.split(separator: ",").map(String.init) },
                                 origin: row.text(6) ?? "config", createdAt: row.double(7) ?? 0, lastSeen: row.double(8))
            byID[d.id] = d
        }
    }

    public func device(_ id: String) -> DeviceRecord? { byID[id] }
    public var all: [DeviceRecord] { byID.values.sorted { $0.id < $1.id } }

    /// Makes the pre-provisioned set match config: adds and updates the listed devices, removes
    /// config devices no longer listed. Paired devices are untouched.
    public func provision(_ devices: [DeviceRecord]) throws {
        let now = clock.unixTime
        try db.transaction {
            let listed = Set(devices.map(\.id))
            for old in byID.values where old.origin == "config" && !listed.contains(old.id) {
                try db.execute("DELETE FROM devices WHERE id = ?", [.text(old.id)])
                byID[old.id] = nil
            }
            for var d in devices {
                d.origin = "config"
                d.createdAt = byID[d.id]?.createdAt ?? now
                d.lastSeen = byID[d.id]?.lastSeen
                try db.execute("""
                    INSERT INTO devices (id, kind, resource, name, minimum_role, actions, origin, created_at, last_seen)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, resource = excluded.resource,
                        name = excluded.name, minimum_role = excluded.minimum_role, actions = excluded.actions,
                        origin = excluded.origin
                    """, [.text(d.id), .text(d.kind), .text(d.resource), SQLValue(d.name), SQLValue(d.minimumRole),
                          SQLValue(d.actions?.joined(separator: ",")), .text(d.origin), .real(d.createdAt),
                          SQLValue(d.lastSeen)])
                byID[d.id] = d
            }
        }
    }

    /// Notes that a device was heard from. Kept in memory; written at most once a minute per device
    /// so a chatty panel does not turn into a write per request.
    public func touch(_ id: String) {
        guard var d = byID[id] else { return }
        let now = clock.unixTime
        let due = (d.lastSeen ?? 0) < now - 60
        d.lastSeen = now
        byID[id] = d
        if due { try? db.execute("UPDATE devices SET last_seen = ? WHERE id = ?", [.real(now), .text(id)]) }
    }

    public func close() { db.close() }
}

@available(*, unavailable) extension DeviceRegistry: Sendable {}
