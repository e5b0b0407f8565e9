import FleetLoop
import FleetStore

/// `devices.sqlite`: the devices and gateways the controller knows. Reads are served from memory (a
/// door asks on every badge); writes go through to SQLite first.
public final class DeviceRegistry {
    private let db: Database
    private let clock: any Clock
    private var byID: [String: DeviceRecord] = [:]
    private var gatewaysByName: [String: GatewayRecord] = [:]

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
        Migration("devices-v2-pairing", """
            ALTER TABLE devices ADD COLUMN model TEXT;
            ALTER TABLE devices ADD COLUMN firmware TEXT;
            ALTER TABLE devices ADD COLUMN fingerprint TEXT;
            ALTER TABLE devices ADD COLUMN paired_at REAL;
            ALTER TABLE devices ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
            CREATE TABLE gateways (
                name TEXT PRIMARY KEY,
                format TEXT NOT NULL,
                created_at REAL NOT NULL
            );
            """),
        // Panels waiting for an installer survive a controller restart: the code on their screen
        // stays valid. Rows live at most as long as the code (plus the expired grace period).
        Migration("devices-v3-pending", """
            CREATE TABLE pending_pairings (
                device_id TEXT PRIMARY KEY,
                hello TEXT NOT NULL,
                received_at REAL NOT NULL,
                expires_at REAL NOT NULL
            );
            """),
        Migration("devices-v4-gateway-zone", """
            ALTER TABLE gateways ADD COLUMN time_zone TEXT;
            """),
    ]

    private static let columns = """
        id, kind, resource, name, minimum_role, actions, origin, created_at, last_seen, model, firmware, fingerprint,
        paired_at, disabled
        """

    public init(path: String, clock: any Clock) throws(StoreError) {
        db = try Database(path: path, migrations: Self.migrations)
        self.clock = clock
        for row in try db.query("SELECT \(Self.columns) FROM devices") {
            let d = DeviceRecord(id: row.text(0) ?? "", kind: row.text(1) ?? "", resource: row.text(2) ?? "",
                                 name: row.text(3), minimumRole: row.text(4),
                                 actions: row.text(5).map { $0.split(separator: ",").map(String.init) },
                                 origin: row.text(6) ?? "config", createdAt: row.double(7) ?? 0, lastSeen: row.double(8),
                                 model: row.text(9), firmware: row.text(10), fingerprint: row.text(11),
                                 pairedAt: row.double(12), disabled: row.bool(13) ?? false)
            byID[d.id] = d
        }
        for row in try db.query("SELECT name, format, created_at, time_zone FROM gateways") {
            let g = GatewayRecord(name: row.text(0) ?? "", format: row.text(1) ?? "", timeZone: row.text(3),
                                  createdAt: row.double(2) ?? 0)
            gatewaysByName[g.name] = g
        }
    }

    public func device(_ id: String) -> DeviceRecord? { byID[id] }
    public var all: [DeviceRecord] { byID.values.sorted { $0.id < $1.id } }
    /// Devices serving `resource`, oldest first.
    public func devices(in resource: String) -> [DeviceRecord] { all.filter { $0.resource == resource } }

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
                if let existing = byID[d.id], existing.origin != "config" { continue }
                d.origin = "config"
                d.createdAt = byID[d.id]?.createdAt ?? now
                d.lastSeen = byID[d.id]?.lastSeen
                try write(d)
            }
        }
    }

    /// Inserts or replaces one device.
    public func save(_ d: DeviceRecord) throws(StoreError) {
        try write(d)
    }

    /// Several changes at once: all land or none (a replacement must never leave two devices, or
    /// none, in a slot).
    public func save(_ records: [DeviceRecord], removing: [String] = []) throws {
        try db.transaction {
            for id in removing { try db.execute("DELETE FROM devices WHERE id = ?", [.text(id)]) }
            for d in records { try write(d) }
        }
        for id in removing { byID[id] = nil }
    }

    private func write(_ d: DeviceRecord) throws(StoreError) {
        try db.execute("""
            INSERT INTO devices (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, resource = excluded.resource,
                name = excluded.name, minimum_role = excluded.minimum_role, actions = excluded.actions,
                origin = excluded.origin, model = excluded.model, firmware = excluded.firmware,
                fingerprint = excluded.fingerprint, paired_at = excluded.paired_at, disabled = excluded.disabled
            """, [.text(d.id), .text(d.kind), .text(d.resource), SQLValue(d.name), SQLValue(d.minimumRole),
                  SQLValue(d.actions?.joined(separator: ",")), .text(d.origin), .real(d.createdAt),
                  SQLValue(d.lastSeen), SQLValue(d.model), SQLValue(d.firmware), SQLValue(d.fingerprint),
                  SQLValue(d.pairedAt), SQLValue(d.disabled)])
        var kept = d
        kept.online = byID[d.id]?.online
        byID[d.id] = kept
    }

    public func remove(_ id: String) throws(StoreError) {
        try db.execute("DELETE FROM devices WHERE id = ?", [.text(id)])
        byID[id] = nil
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

    /// Presence from the device's retained status; nil when it never said.
    public func setOnline(_ id: String, _ online: Bool?) {
        guard byID[id] != nil else { return }
        byID[id]?.online = online
        if online == true { touch(id) }
    }

    // MARK: - Pending pairings

    /// Hellos still waiting, as stored (decoded again by the caller, so the rules apply to them too).
    public func pendingHellos() throws(StoreError) -> [(hello: [UInt8], receivedAt: Double, expiresAt: Double)] {
        try db.query("SELECT hello, received_at, expires_at FROM pending_pairings ORDER BY received_at").map {
            (Array(($0.text(0) ?? "").utf8), $0.double(1) ?? 0, $0.double(2) ?? 0)
        }
    }

    public func savePending(deviceID: String, hello: [UInt8], receivedAt: Double, expiresAt: Double) throws(StoreError) {
        try db.execute("""
            INSERT INTO pending_pairings (device_id, hello, received_at, expires_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(device_id) DO UPDATE SET hello = excluded.hello, received_at = excluded.received_at,
                expires_at = excluded.expires_at
            """, [.text(deviceID), .text(String(decoding: hello, as: UTF8.self)), .real(receivedAt), .real(expiresAt)])
    }

    public func removePending(_ deviceID: String) throws(StoreError) {
        try db.execute("DELETE FROM pending_pairings WHERE device_id = ?", [.text(deviceID)])
    }

    // MARK: - Gateways

    public var gateways: [GatewayRecord] { gatewaysByName.values.sorted { $0.name < $1.name } }
    public func gateway(_ name: String) -> GatewayRecord? { gatewaysByName[name] }

    public func saveGateway(_ g: GatewayRecord) throws(StoreError) {
        try db.execute("""
            INSERT INTO gateways (name, format, created_at, time_zone) VALUES (?, ?, ?, ?)
            ON CONFLICT(name) DO UPDATE SET format = excluded.format, time_zone = excluded.time_zone
            """, [.text(g.name), .text(g.format), .real(g.createdAt), SQLValue(g.timeZone)])
        gatewaysByName[g.name] = g
    }

    public func removeGateway(_ name: String) throws(StoreError) {
        try db.execute("DELETE FROM gateways WHERE name = ?", [.text(name)])
        gatewaysByName[name] = nil
    }

    public func close() { db.close() }
}

@available(*, unavailable) extension DeviceRegistry: Sendable {}
