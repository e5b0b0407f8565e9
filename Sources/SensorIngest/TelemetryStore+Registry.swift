import FleetStore

/// Where a claim came from. Config claims live in the file; the others are rows in `claims`.
public enum ClaimOrigin: String, Sendable {
    case config
    case api
    case permit
}

/// A claim as stored: the sensor plus where it came from and when.
public struct StoredClaim: Equatable, Sendable {
    public var sensor: Sensor
    public var origin: ClaimOrigin
    public var claimedAt: Double

    public init(sensor: Sensor, origin: ClaimOrigin, claimedAt: Double) {
        self.sensor = sensor
        self.origin = origin
        self.claimedAt = claimedAt
    }
}

/// A device's last presence report.
public struct PresenceState: Equatable, Sendable {
    public var device: String
    public var online: Bool
    public var at: Double
    public var reports: Int
}

extension TelemetryStore {
    /// Appended to ``migrations``; never edited once released.
    static let claimLinesMigration = Migration(
        "telemetry-v7",
        """
            -- The VS133 / VS135 counting lines a claim sums, as "1,2"; NULL is line 1 alone.
            ALTER TABLE claims ADD COLUMN lines TEXT;
            """)

    // MARK: - Claims

    /// `[1, 2]` as stored: `1,2`.
    static func linesText(_ lines: [Int]) -> String { lines.map(String.init).joined(separator: ",") }

    /// A stored list back; what is not a number is left out, and the claim is checked again on
    /// restore, so a damaged value is reported rather than counted.
    static func lines(fromText text: String) -> [Int] { text.split(separator: ",").compactMap { Int($0) } }

    public func saveClaim(_ claim: StoredClaim) throws(StoreError) {
        try db.execute(
            """
            INSERT INTO claims (device, vendor, model, resource, name, origin, claimed_at, lines)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (device) DO UPDATE SET vendor = excluded.vendor, model = excluded.model,
                resource = excluded.resource, name = excluded.name, origin = excluded.origin,
                claimed_at = excluded.claimed_at, lines = excluded.lines
            """,
            [
                .text(claim.sensor.devEUI), .text(claim.sensor.vendor), .text(claim.sensor.model),
                .text(claim.sensor.resource), SQLValue(claim.sensor.name), .text(claim.origin.rawValue),
                .real(claim.claimedAt), SQLValue(claim.sensor.lines.map(Self.linesText)),
            ])
        try forgetDiscovered(devEUI: claim.sensor.devEUI)
    }

    public func deleteClaim(device: String) throws(StoreError) -> Bool {
        try db.execute("DELETE FROM claims WHERE device = ?", [.text(device)])
        return db.changes > 0
    }

    /// Stored claims, by device.
    public func claims() throws(StoreError) -> [StoredClaim] {
        try db.query(
            "SELECT device, vendor, model, resource, name, origin, claimed_at, lines FROM claims ORDER BY device", []
        )
            .map { row in
                StoredClaim(
                    sensor: Sensor(
                        devEUI: row.text(0) ?? "", vendor: row.text(1) ?? "", model: row.text(2) ?? "",
                        resource: row.text(3) ?? "", name: row.text(4), lines: row.text(7).map(Self.lines(fromText:))),
                    origin: row.text(5).flatMap(ClaimOrigin.init(rawValue:)) ?? .api, claimedAt: row.double(6) ?? 0)
            }
    }

    /// When a device was first heard unclaimed, if it was.
    public func firstSeen(device: String) throws(StoreError) -> Double? {
        try db.queryOne("SELECT first_seen FROM discovered_devices WHERE dev_eui = ?", [.text(device)])?.double(0)
    }

    // MARK: - Presence, occupancy

    public func presence() throws(StoreError) -> [PresenceState] {
        try db.query("SELECT device, online, at, reports FROM presence ORDER BY device", []).map { row in
            PresenceState(
                device: row.text(0) ?? "", online: row.int(1) == 1, at: row.double(2) ?? 0, reports: row.int(3) ?? 0)
        }
    }

    public func occupancyDays() throws(StoreError) -> [OccupancyTracker.Day] {
        try db.query("SELECT resource, day, people, updated_at FROM occupancy ORDER BY resource", []).map { row in
            OccupancyTracker.Day(
                resource: row.text(0) ?? "", day: row.int(1) ?? 0, people: row.int(2) ?? 0,
                updatedAt: row.double(3) ?? 0)
        }
    }

    // MARK: - Identity

    /// A random id made when the database was created: export ids are `<instance>-<row id>`, so
    /// a database recreated after damage never reuses an id the analytics side has seen.
    public func instanceID() throws(StoreError) -> String {
        if let id = try db.queryOne("SELECT value FROM meta WHERE key = 'instance'", [])?.text(0) { return id }
        var generator = SystemRandomNumberGenerator()
        let id = String(generator.next() as UInt64, radix: 16, uppercase: false)
        try db.execute("INSERT INTO meta (key, value) VALUES ('instance', ?)", [.text(id)])
        return id
    }
}
