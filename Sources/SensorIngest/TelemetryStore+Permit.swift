import FleetStore

/// The open claim window, so that a restart (an update, a power cut while the installer walks
/// the floor) does not close it behind the installer's back.
extension TelemetryStore {
    /// Appended to ``migrations``; never edited once released.
    static let permitWindowMigration = Migration(
        "telemetry-v8",
        """
            -- At most one open claim window (model → resource), with its absolute expiry in Unix
            -- seconds of the controller's wall clock. What it claimed and passed over is not kept:
            -- claims are rows in `claims`, and a reopened window judges devices afresh.
            CREATE TABLE permit_window (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                vendor TEXT NOT NULL,
                model TEXT NOT NULL,
                resource TEXT NOT NULL,
                opened REAL NOT NULL,
                until REAL NOT NULL
            );
            """)

    /// Appended to ``migrations``; never edited once released.
    static let permitLinesMigration = Migration(
        "telemetry-v9",
        """
            -- The VS133 / VS135 counting lines every claim of the window lists, as "1,2" like
            -- `claims.lines`; NULL claims with line 1 alone.
            ALTER TABLE permit_window ADD COLUMN lines TEXT;
            """)

    /// Stores `window` as the one open window, replacing any earlier one.
    public func savePermit(_ window: PermitWindow) throws(StoreError) {
        try db.execute(
            """
            INSERT INTO permit_window (id, vendor, model, resource, opened, until, lines) VALUES (1, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET vendor = excluded.vendor, model = excluded.model,
                resource = excluded.resource, opened = excluded.opened, until = excluded.until, lines = excluded.lines
            """,
            [
                .text(window.vendor), .text(window.model), .text(window.resource), .real(window.opened),
                .real(window.until), SQLValue(window.lines.map(Self.linesText)),
            ])
    }

    /// The stored window, expired or not; nil when none is open.
    public func storedPermit() throws(StoreError) -> PermitWindow? {
        guard let row = try db.queryOne(
            "SELECT vendor, model, resource, opened, until, lines FROM permit_window WHERE id = 1", [])
        else { return nil }
        return PermitWindow(
            vendor: row.text(0) ?? "", model: row.text(1) ?? "", resource: row.text(2) ?? "",
            opened: row.double(3) ?? 0, until: row.double(4) ?? 0, lines: row.text(5).map(Self.lines(fromText:)))
    }

    public func deletePermit() throws(StoreError) {
        try db.execute("DELETE FROM permit_window", [])
    }
}
