import FleetStore

/// The telemetry database (`telemetry.sqlite`): readings, the LoRaWAN duplicate filter, the
/// dead-letter table and the devices heard but not claimed. Its own file, so telemetry churn never
/// touches the auth-critical caches.
///
/// Writes come in ``TelemetryBatch``es, one transaction each: the ingest façade collects a loop
/// tick's worth of work and commits it once (perf_limits.md §4: batching ≥ 100 rows per commit
/// reaches SQLite's per-row ceiling). Readings are stored packed, one `samples` row per sensor
/// and timestamp (see `telemetry-v6` and TelemetryStore+Samples.swift). Loop-bound, like its
/// `Database`.
public final class TelemetryStore {
    let db: Database

    /// Dictionary ids of (sensor, resource) pairs and of (kind, unit) pairs, both ways.
    var seriesIDs: [SeriesKey: Int64] = [:]
    var seriesByID: [Int64: SeriesKey] = [:]
    var channelIDs: [ChannelKey: Int] = [:]
    var channelByID: [Int: ChannelKey] = [:]
    /// Bits of `samples.mask` that may hold each kind.
    var kindMask: [ReadingKind: Int64] = [:]
    /// The id the next stored reading gets.
    var nextReadingID: Int64 = 1
    /// Whether the v1–v3 `readings` table still holds rows (read alongside `samples`).
    var legacyReadings = false
    /// The newest reading of each kind per sensor (one lookup per uplink, not per reading), and
    /// the sensors not yet written to `latest` with the first sample id that changed them since.
    var latestReadings: [String: [Reading]] = [:]
    var latestDirty: [String: Int64] = [:]
    /// Dirty sensors in the order they became dirty (oldest first from `latestQueueHead`), so
    /// the oldest change is written first and `latest_through` keeps moving during a flood.
    var latestQueue: [String] = []
    var latestQueueHead = 0
    var latestThrough: Int64 = 0
    /// Sensors whose `latest` rows are written per commit: enough to keep up with a flood over a
    /// few seconds, few enough (an upsert of a few µs per kind) to leave the commit short.
    static let latestSlice = 8

    /// Opens (or creates) the database and applies the migrations.
    public init(path: String) throws(StoreError) {
        db = try Database(path: path, migrations: Self.migrations)
        // The rollups, `latest` and the duplicate filter touch pages all over their tables; with
        // SQLite's 2 MB default those pages are re-read from the file on every batch. Samples
        // only append, so their pages need no cache: 16 MiB holds the rest.
        try db.execute("PRAGMA cache_size = -16384")
        // Checkpoints run from the ingest timer (``checkpoint()``), never inside a commit: an
        // automatic one copies ~4 MB and syncs twice in the middle of a flush.
        try db.setAutoCheckpoint(pages: 0)
        try db.trackWALFrames()
        try loadDictionaries()
        try loadLatest()
    }

    /// Append-only: a released migration is never edited; changes go in `telemetry-v2`, ….
    static let migrations = [
        Migration(
            "telemetry-v1",
            """
                CREATE TABLE readings (
                    id INTEGER PRIMARY KEY,
                    sensor TEXT NOT NULL,
                    resource TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    value REAL NOT NULL,
                    unit TEXT NOT NULL,
                    ts REAL NOT NULL,
                    received_at REAL NOT NULL
                );
                -- Time-ordered: appends stay at the right edge (about 776k rows/s batched here).
                -- Serves exports, retention and queries without a sensor.
                CREATE INDEX readings_by_ts ON readings (ts);
                -- Interleaved sensors dirty one leaf per row per commit, which caps batched
                -- inserts near 85k rows/s (perf_limits.md §4). LoRaWAN delivers a few hundred
                -- uplinks/s at the very most, and without this index every per-sensor chart
                -- would scan all sensors' rows in its time range on the loop thread.
                CREATE INDEX readings_by_sensor ON readings (sensor, kind, ts);

                -- Uplinks already taken, so that copies from several gateways and retries are
                -- stored once. Pruned by age: frame counters restart when a device rejoins.
                CREATE TABLE uplinks_seen (
                    dev_eui TEXT NOT NULL,
                    f_cnt INTEGER NOT NULL,
                    payload_hash INTEGER NOT NULL,
                    seen_at REAL NOT NULL,
                    PRIMARY KEY (dev_eui, f_cnt, payload_hash)
                ) WITHOUT ROWID;
                CREATE INDEX uplinks_seen_by_time ON uplinks_seen (seen_at);

                -- Messages that could not be used, kept with their bytes so they can be replayed
                -- once the decoder is fixed. Pruned to the newest rows; the counts below are not.
                CREATE TABLE dead_letters (
                    id INTEGER PRIMARY KEY,
                    received_at REAL NOT NULL,
                    topic TEXT NOT NULL,
                    device TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    payload BLOB NOT NULL
                );
                CREATE TABLE dead_letter_counts (
                    device TEXT PRIMARY KEY,
                    count INTEGER NOT NULL,
                    last_reason TEXT NOT NULL,
                    last_at REAL NOT NULL
                ) WITHOUT ROWID;

                -- Devices heard but not claimed, for the installer's claim list.
                CREATE TABLE discovered_devices (
                    dev_eui TEXT PRIMARY KEY,
                    first_seen REAL NOT NULL,
                    last_seen REAL NOT NULL,
                    count INTEGER NOT NULL,
                    last_payload BLOB NOT NULL,
                    last_topic TEXT NOT NULL,
                    device_name TEXT
                ) WITHOUT ROWID;
                """),
        Migration(
            "telemetry-v2",
            """
                -- Claims made by installers (API, CLI, permit window). Config claims are not stored:
                -- the file is their source of truth and wins over a row here.
                CREATE TABLE claims (
                    device TEXT PRIMARY KEY,
                    vendor TEXT NOT NULL,
                    model TEXT NOT NULL,
                    resource TEXT NOT NULL,
                    name TEXT,
                    origin TEXT NOT NULL,
                    claimed_at REAL NOT NULL
                ) WITHOUT ROWID;

                -- The last presence report per device (Irisys status, Last Will).
                CREATE TABLE presence (
                    device TEXT PRIMARY KEY,
                    online INTEGER NOT NULL,
                    at REAL NOT NULL,
                    reports INTEGER NOT NULL
                ) WITHOUT ROWID;

                -- Aggregates per sensor, kind and bucket (900 s, 3600 s), merged once per flush.
                CREATE TABLE rollups (
                    sensor TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    bucket INTEGER NOT NULL,
                    start REAL NOT NULL,
                    resource TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    v_min REAL NOT NULL,
                    v_max REAL NOT NULL,
                    v_sum REAL NOT NULL,
                    v_last REAL NOT NULL,
                    last_ts REAL NOT NULL,
                    PRIMARY KEY (sensor, kind, bucket, start)
                ) WITHOUT ROWID;
                CREATE INDEX rollups_by_start ON rollups (bucket, start);

                -- How far each export sink got, as the last reading id it delivered.
                CREATE TABLE export_cursor (
                    sink TEXT PRIMARY KEY,
                    last_id INTEGER NOT NULL
                ) WITHOUT ROWID;

                -- People in each resource today (in minus out, never below zero).
                CREATE TABLE occupancy (
                    resource TEXT PRIMARY KEY,
                    day INTEGER NOT NULL,
                    people INTEGER NOT NULL,
                    updated_at REAL NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE meta (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                ) WITHOUT ROWID;

                ALTER TABLE discovered_devices ADD COLUMN vendor TEXT;
                """),
        Migration(
            "telemetry-v3",
            """
                -- (sensor, kind, ts) put each of an uplink's eight readings on a different leaf:
                -- eight dirty pages per uplink per commit capped a flood near 12k uplinks/s with
                -- commits far over the loop's 5 ms budget. An uplink's readings share sensor and
                -- time, so under (sensor, ts) they sit side by side: one leaf per uplink. Charts
                -- read rollups; per-sensor raw queries filter kind on the sensor's rows.
                DROP INDEX readings_by_sensor;
                CREATE INDEX readings_by_sensor_ts ON readings (sensor, ts);
                """),
        counterTotalsMigration,
        Migration(
            "telemetry-v6",
            """
                -- One row per uplink (per sensor and timestamp) instead of eight, with integer
                -- dictionary ids for what used to repeat as text in every reading, and no index
                -- keyed by sensor: readings v1–v3 put one random leaf per uplink per commit into
                -- (sensor, ts), which capped a flood near 10k uplinks/s with commits of tens of
                -- milliseconds. Every write here lands at the right edge of a B-tree.
                CREATE TABLE series (
                    id INTEGER PRIMARY KEY,
                    sensor TEXT NOT NULL,
                    resource TEXT NOT NULL,
                    UNIQUE (sensor, resource)
                );
                CREATE TABLE channels (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    UNIQUE (kind, unit)
                );
                -- Reading ids stay one per reading: a row holds readings id … id + count - 1, so
                -- the export cursor and the NDJSON ids mean what they meant before. New ids start
                -- above every id of the v1–v3 `readings` table, which stays readable (and is
                -- pruned by retention) until its rows age out.
                CREATE TABLE samples (
                    id INTEGER PRIMARY KEY,
                    series INTEGER NOT NULL,
                    ts REAL NOT NULL,
                    received_at REAL NOT NULL,
                    count INTEGER NOT NULL,
                    -- One bit per channel id (63 and above share the top bit): lets a kind filter
                    -- skip rows inside the index without unpacking them.
                    mask INTEGER NOT NULL,
                    -- count × (channel id: UInt16 LE, value: Float64 LE)
                    data BLOB NOT NULL
                );
                -- Time-ordered, so appends stay at the right edge; covers the sensor and kind
                -- filters of a raw query, which scan it newest first.
                CREATE INDEX samples_by_ts ON samples (ts, series, mask);

                -- LoRaWAN keys taken, appended with the readings of the same commit. Looked up only
                -- for a frame counter at or below the device's highest one that is not among its
                -- newest keys kept in memory (a rejoin, or a copy arriving very late).
                CREATE TABLE seen_log (
                    id INTEGER PRIMARY KEY,
                    device TEXT NOT NULL,
                    f_cnt INTEGER NOT NULL,
                    payload_hash INTEGER NOT NULL,
                    seen_at REAL NOT NULL
                );

                -- The newest reading per sensor and kind, for GET /api/v1/sensors. Kept in memory
                -- and written back a slice per commit; meta `latest_through` is the sample id up to
                -- which this table is complete, and newer samples are replayed at start.
                CREATE TABLE latest (
                    sensor TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    resource TEXT NOT NULL,
                    value REAL NOT NULL,
                    unit TEXT NOT NULL,
                    ts REAL NOT NULL,
                    received_at REAL NOT NULL,
                    PRIMARY KEY (sensor, kind)
                ) WITHOUT ROWID;
                """),
        claimLinesMigration,
        permitWindowMigration,
        permitLinesMigration,
    ]

    // MARK: - Writing

    /// Writes a batch in one transaction; nothing of it is stored if any part fails.
    public func commit(_ batch: TelemetryBatch) throws(StoreError) {
        guard !batch.isEmpty || (batch.writesAllLatest && hasUnwrittenLatest) else { return }
        let undo = dictionaryState
        var rows: [PackedRow] = []
        var progress = (written: 0, through: latestThrough)
        do {
            try inTransaction { () throws(StoreError) in
                let firstNewID = nextReadingID
                rows = try insertSamples(batch.readings)
                progress = try writeLatestSlice(firstNewID: firstNewID, all: batch.writesAllLatest)
                try writeRollups(batch.rollups)
                try writeSeen(batch.seen)
                try writeSmallTables(batch)
            }
        } catch {
            restore(undo)
            throw error
        }
        latestCommitted(progress)
        latestWritten(batch: batch.readings, rows: rows)
    }

    /// Copies WAL frames back into the database file without waiting for anyone.
    @discardableResult
    public func checkpoint() throws(StoreError) -> Database.CheckpointResult {
        try db.checkpoint(.passive)
    }

    /// Whether some sensor's newest readings are only in memory (replayed from samples at start).
    var hasUnwrittenLatest: Bool { latestQueueHead < latestQueue.count }

    /// Frames (pages) in the WAL after the last commit.
    public var walFrames: Int { db.walFrames }

    /// `Database.transaction` rethrows untyped; every error inside is a `StoreError`.
    private func inTransaction(_ body: () throws(StoreError) -> Void) throws(StoreError) {
        do {
            try db.transaction { try body() }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(resultCode: 1 /* SQLITE_ERROR */, message: "\(error)", operation: "commit", path: db.path)
        }
    }

    /// Stores readings in one transaction.
    public func append(_ readings: [Reading]) throws(StoreError) {
        try commit(TelemetryBatch(readings: readings, rollups: RollupDeltas(readings)))
    }

    /// Records that an uplink was taken, so later copies count as duplicates.
    public func markSeen(_ key: UplinkKey, at time: Double) throws(StoreError) {
        try commit(TelemetryBatch(seen: [.init(key: key, at: time)]))
    }

    /// Keeps an unusable message and counts it against its device (`""` when unknown).
    public func deadLetter(
        receivedAt: Double, topic: String, device: String, reason: String, payload: [UInt8]
    ) throws(StoreError) {
        try commit(TelemetryBatch(deadLetters: [
            DeadLetter(receivedAt: receivedAt, topic: topic, device: device, reason: reason, payload: payload)
        ]))
    }

    /// Notes one uplink from a device nobody has claimed.
    public func recordDiscovered(
        devEUI: String, at time: Double, topic: String, payload: [UInt8], deviceName: String? = nil
    ) throws(StoreError) {
        try commit(TelemetryBatch(discovered: [
            DiscoveredDevice(
                devEUI: devEUI, firstSeen: time, lastSeen: time, count: 1, lastPayload: payload, lastTopic: topic,
                deviceName: deviceName)
        ]))
    }

    /// Forgets uplinks seen before `time`, at most `limit` log rows per call (the log is in
    /// arrival order, so the oldest rows are at its head); true when that limit was reached.
    @discardableResult
    public func pruneSeen(before time: Double, limit: Int = 20_000) throws(StoreError) -> Bool {
        try db.execute("DELETE FROM uplinks_seen WHERE seen_at < ?", [.real(time)])
        try db.execute(
            "DELETE FROM seen_log WHERE id IN (SELECT id FROM seen_log WHERE seen_at < ? ORDER BY id LIMIT ?)",
            [.real(time), .integer(Int64(max(limit, 0)))])
        return db.changes >= limit
    }

    /// Keeps only the newest `keep` dead letters (their per-device counts stay).
    public func pruneDeadLetters(keep: Int) throws(StoreError) {
        try db.execute(
            "DELETE FROM dead_letters WHERE id <= (SELECT id FROM dead_letters ORDER BY id DESC LIMIT 1 OFFSET ?)",
            [.integer(Int64(max(keep, 0)))])
    }
}

@available(*, unavailable) extension TelemetryStore: Sendable {}
