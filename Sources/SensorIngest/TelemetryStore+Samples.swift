import FleetStore

/// A sensor under a resource: one `series` row. A sensor claimed again elsewhere gets a new one,
/// so every stored reading keeps the resource it was measured in.
struct SeriesKey: Hashable, Sendable {
    var sensor: String
    var resource: String
}

/// A kind with its unit: one `channels` row. The kind stays text in the table so a build that
/// does not know a kind (written by a newer one) can skip it instead of misreading it.
struct ChannelKey: Hashable, Sendable {
    var kind: String
    var unit: String
}

/// One `samples` row as written: readings `id ..< id + count` of one series at one time.
struct PackedRow: Equatable, Sendable {
    var id: Int64
    var series: Int64
    var timestamp: Double
    var receivedAt: Double
    var values: [(channel: Int, value: Double)]

    static func == (a: PackedRow, b: PackedRow) -> Bool {
        a.id == b.id && a.series == b.series && a.timestamp == b.timestamp && a.receivedAt == b.receivedAt
            && a.values.map(\.channel) == b.values.map(\.channel) && a.values.map(\.value) == b.values.map(\.value)
    }
}

/// The byte layout of `samples.data`: per reading a UInt16 channel id and the Float64 value,
/// both little-endian — 10 bytes, where v1–v3 stored four text columns and two indexes' worth.
enum SamplePacking {
    static let bytesPerReading = 10
    /// An uplink has up to ~20 values; longer groups are split so a row stays small and the export
    /// can find the row holding any reading id by looking this far back.
    static let maxPerRow = 64

    static func pack(_ values: [(channel: Int, value: Double)]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * bytesPerReading)
        for (channel, value) in values {
            out.append(UInt8(truncatingIfNeeded: channel))
            out.append(UInt8(truncatingIfNeeded: channel >> 8))
            let bits = value.bitPattern
            for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        }
        return out
    }

    /// nil when the length is not a whole number of readings (a damaged row).
    static func unpack(_ data: [UInt8]) -> [(channel: Int, value: Double)]? {
        guard data.count % bytesPerReading == 0 else { return nil }
        var out: [(channel: Int, value: Double)] = []
        out.reserveCapacity(data.count / bytesPerReading)
        var i = 0
        while i < data.count {
            let channel = Int(data[i]) | Int(data[i + 1]) << 8
            var bits: UInt64 = 0
            for k in 0..<8 { bits |= UInt64(data[i + 2 + k]) << UInt64(8 * k) }
            out.append((channel, Double(bitPattern: bits)))
            i += bytesPerReading
        }
        return out
    }

    /// The mask bit of a channel: channels 63 and above share the top bit, so the mask can only
    /// let through too much, never too little.
    static func bit(_ channel: Int) -> Int64 { Int64(bitPattern: 1 << UInt64(min(max(channel, 0), 63))) }
}

extension TelemetryStore {
    /// What a failed commit must undo in memory: dictionary rows it inserted were rolled back.
    struct DictionaryState {
        var series: [SeriesKey]
        var channels: [ChannelKey]
        var nextReadingID: Int64
    }

    var dictionaryState: DictionaryState {
        DictionaryState(series: Array(seriesIDs.keys), channels: Array(channelIDs.keys), nextReadingID: nextReadingID)
    }

    func restore(_ state: DictionaryState) {
        nextReadingID = state.nextReadingID
        let series = Set(state.series)
        for (key, id) in seriesIDs where !series.contains(key) {
            seriesIDs[key] = nil
            seriesByID[id] = nil
        }
        let channels = Set(state.channels)
        for (key, id) in channelIDs where !channels.contains(key) {
            channelIDs[key] = nil
            channelByID[id] = nil
        }
        rebuildKindMask()
    }

    func loadDictionaries() throws(StoreError) {
        for row in try db.query("SELECT id, sensor, resource FROM series", []) {
            guard let id = row.int64(0) else { continue }
            let key = SeriesKey(sensor: row.text(1) ?? "", resource: row.text(2) ?? "")
            seriesIDs[key] = id
            seriesByID[id] = key
        }
        for row in try db.query("SELECT id, kind, unit FROM channels", []) {
            guard let id = row.int(0) else { continue }
            let key = ChannelKey(kind: row.text(1) ?? "", unit: row.text(2) ?? "")
            channelIDs[key] = id
            channelByID[id] = key
        }
        rebuildKindMask()
        legacyReadings = try db.queryOne("SELECT 1 FROM readings LIMIT 1", []) != nil
        // Ids are never reused, even after retention emptied both tables or a sink confirmed ids
        // past what is left: the export cursor must never meet an id twice.
        let lastSample = try db.queryOne("SELECT id + count FROM samples ORDER BY id DESC LIMIT 1", [])?.int64(0) ?? 1
        let lastLegacy = try db.queryOne("SELECT max(id) FROM readings", [])?.int64(0) ?? 0
        let lastExported = try db.queryOne("SELECT max(last_id) FROM export_cursor", [])?.int64(0) ?? 0
        // Retention records the highest id it ever deleted: the table alone forgets it.
        let floor = try db.queryOne("SELECT value FROM meta WHERE key = 'reading_id_floor'", [])?.text(0)
            .flatMap { Int64($0) } ?? 0
        nextReadingID = max(lastSample, lastLegacy + 1, lastExported + 1, floor + 1)
    }

    func rebuildKindMask() {
        kindMask.removeAll(keepingCapacity: true)
        for (key, id) in channelIDs {
            guard let kind = ReadingKind(rawValue: key.kind) else { continue }
            kindMask[kind, default: 0] |= SamplePacking.bit(id)
        }
    }

    private func seriesID(_ key: SeriesKey) throws(StoreError) -> Int64 {
        if let id = seriesIDs[key] { return id }
        try db.execute("INSERT INTO series (sensor, resource) VALUES (?, ?)", [.text(key.sensor), .text(key.resource)])
        let id = db.lastInsertRowID
        seriesIDs[key] = id
        seriesByID[id] = key
        return id
    }

    private func channelID(_ kind: ReadingKind, _ unit: String) throws(StoreError) -> Int {
        let key = ChannelKey(kind: kind.rawValue, unit: unit)
        if let id = channelIDs[key] { return id }
        try db.execute("INSERT INTO channels (kind, unit) VALUES (?, ?)", [.text(key.kind), .text(unit)])
        let id = Int(db.lastInsertRowID)
        guard id <= Int(UInt16.max) else {
            throw StoreError(resultCode: 1, message: "more than 65535 (kind, unit) pairs", operation: "commit", path: db.path)
        }
        channelIDs[key] = id
        channelByID[id] = key
        kindMask[kind, default: 0] |= SamplePacking.bit(id)
        return id
    }

    /// Stores readings as packed rows: consecutive readings of one sensor, resource, time and
    /// receive time (an uplink's values) share a row. Called inside the batch's transaction.
    func insertSamples(_ readings: [Reading]) throws(StoreError) -> [PackedRow] {
        var rows: [PackedRow] = []
        var i = 0
        while i < readings.count {
            let first = readings[i]
            var values: [(channel: Int, value: Double)] = []
            var j = i
            while j < readings.count, values.count < SamplePacking.maxPerRow {
                let r = readings[j]
                guard j == i || (r.sensor == first.sensor && r.timestamp == first.timestamp
                    && r.receivedAt == first.receivedAt && r.resource == first.resource) else { break }
                // SQLite would store NaN as NULL in v1–v3; a packed NaN would be read back as a
                // value. Refuse it like the NOT NULL column did: the whole batch fails.
                guard r.value.isFinite, r.timestamp.isFinite, r.receivedAt.isFinite else {
                    throw StoreError(resultCode: 19 /* SQLITE_CONSTRAINT */, message: "reading \(r.kind.rawValue) of \(r.sensor) is not a finite number",
                                     operation: "commit", path: db.path)
                }
                values.append((try channelID(r.kind, r.unit), r.value))
                j += 1
            }
            let row = PackedRow(
                id: nextReadingID, series: try seriesID(SeriesKey(sensor: first.sensor, resource: first.resource)),
                timestamp: first.timestamp, receivedAt: first.receivedAt, values: values)
            var mask: Int64 = 0
            for value in values { mask |= SamplePacking.bit(value.channel) }
            try db.execute(
                "INSERT INTO samples (id, series, ts, received_at, count, mask, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    .integer(row.id), .integer(row.series), .real(row.timestamp), .real(row.receivedAt),
                    .integer(Int64(values.count)), .integer(mask), .blob(SamplePacking.pack(values)),
                ])
            nextReadingID += Int64(values.count)
            rows.append(row)
            i = j
        }
        return rows
    }

    /// The readings of a stored row, each with its id; readings of kinds this build does not know
    /// are skipped (their ids stay taken).
    func readings(of row: PackedRow) -> [StoredReading] {
        guard let series = seriesByID[row.series] else { return [] }
        var out: [StoredReading] = []
        out.reserveCapacity(row.values.count)
        for (offset, value) in row.values.enumerated() {
            guard let channel = channelByID[value.channel], let kind = ReadingKind(rawValue: channel.kind) else { continue }
            out.append(StoredReading(
                id: row.id + Int64(offset),
                reading: Reading(
                    sensor: series.sensor, resource: series.resource, kind: kind, value: value.value, unit: channel.unit,
                    timestamp: row.timestamp, receivedAt: row.receivedAt)))
        }
        return out
    }

    /// A `samples` row read as `id, series, ts, received_at, data`.
    static func packedRow(_ row: Row) -> PackedRow? {
        guard let id = row.int64(0), let series = row.int64(1), let values = SamplePacking.unpack(row.blob(4) ?? [])
        else { return nil }
        return PackedRow(id: id, series: series, timestamp: row.double(2) ?? 0, receivedAt: row.double(3) ?? 0, values: values)
    }

    static let packedColumns = "id, series, ts, received_at, data"

    // MARK: - Latest per sensor and kind

    /// Loads `latest` and replays the samples stored after its last complete write.
    func loadLatest() throws(StoreError) {
        for row in try db.query("SELECT sensor, kind, resource, value, unit, ts, received_at FROM latest", []) {
            guard let sensor = row.text(0), let kind = row.text(1).flatMap(ReadingKind.init(rawValue:)) else { continue }
            latestReadings[sensor, default: []].append(Reading(
                sensor: sensor, resource: row.text(2) ?? "", kind: kind, value: row.double(3) ?? .nan,
                unit: row.text(4) ?? "", timestamp: row.double(5) ?? 0, receivedAt: row.double(6) ?? 0))
        }
        latestThrough = try db.queryOne("SELECT value FROM meta WHERE key = 'latest_through'", [])?.text(0)
            .flatMap { Int64($0) } ?? 0
        for row in try db.query("SELECT \(Self.packedColumns) FROM samples WHERE id > ? ORDER BY id", [.integer(latestThrough)]) {
            guard let packed = Self.packedRow(row) else { continue }
            noteLatest(readings(of: packed).map(\.reading), rowID: packed.id)
        }
    }

    /// Readings of one sensor (a stored row's, or a batch's run of them) update its newest per
    /// kind: a later time wins, and so does a later row at the same time.
    private func noteLatest(_ readings: some Collection<Reading>, rowID: Int64) {
        guard let sensor = readings.first?.sensor else { return }
        // One lookup per row, changed in place through the default subscript's accessor.
        if Self.newest(readings, into: &latestReadings[sensor, default: []]) && latestDirty[sensor] == nil {
            latestDirty[sensor] = rowID
            latestQueue.append(sensor)
        }
    }

    /// A later time wins, and so does a later row at the same time; true when anything changed.
    private static func newest(_ readings: some Collection<Reading>, into known: inout [Reading]) -> Bool {
        var changed = false
        for reading in readings {
            if let i = known.firstIndex(where: { $0.kind == reading.kind }) {
                guard known[i].timestamp <= reading.timestamp else { continue }
                known[i] = reading
            } else {
                known.append(reading)
            }
            changed = true
        }
        return changed
    }

    /// After a successful commit: its readings update the newest per sensor and kind.
    func latestWritten(batch readings: [Reading], rows: [PackedRow]) {
        var index = 0
        for row in rows {
            noteLatest(readings[index..<index + row.values.count], rowID: row.id)
            index += row.values.count
        }
    }

    /// Writes the `latest` rows of the ``latestSlice`` sensors changed longest ago (all of them
    /// for `all`), then how far `latest` is complete: every sample before the oldest change still
    /// unwritten, and before this batch's first row. Returns how many queued sensors were written,
    /// to mark clean once the transaction has committed.
    func writeLatestSlice(firstNewID: Int64, all: Bool = false) throws(StoreError) -> (written: Int, through: Int64) {
        let end = all ? latestQueue.count : min(latestQueue.count, latestQueueHead + Self.latestSlice)
        for sensor in latestQueue[latestQueueHead..<end] {
            for r in latestReadings[sensor] ?? [] {
                try db.execute(
                    """
                    INSERT INTO latest (sensor, kind, resource, value, unit, ts, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (sensor, kind) DO UPDATE SET resource = excluded.resource, value = excluded.value,
                        unit = excluded.unit, ts = excluded.ts, received_at = excluded.received_at
                    """,
                    [.text(r.sensor), .text(r.kind.rawValue), .text(r.resource), .real(r.value), .text(r.unit),
                     .real(r.timestamp), .real(r.receivedAt)])
            }
        }
        // Every queued sensor is dirty, queued once, in the order of the rows that dirtied it.
        let oldest = end < latestQueue.count ? min(latestDirty[latestQueue[end]] ?? firstNewID, firstNewID) : firstNewID
        let through = oldest - 1
        if through != latestThrough {
            try db.execute(
                "INSERT INTO meta (key, value) VALUES ('latest_through', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [.text(String(through))])
        }
        return (end - latestQueueHead, through)
    }

    func latestCommitted(_ progress: (written: Int, through: Int64)) {
        for sensor in latestQueue[latestQueueHead..<latestQueueHead + progress.written] { latestDirty[sensor] = nil }
        latestQueueHead += progress.written
        if latestQueueHead > 1_024 && latestQueueHead * 2 > latestQueue.count {
            latestQueue.removeFirst(latestQueueHead)
            latestQueueHead = 0
        }
        latestThrough = progress.through
    }
}
