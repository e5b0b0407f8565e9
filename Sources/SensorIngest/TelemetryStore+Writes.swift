import FleetStore

/// The parts of a batch besides its readings, written in the batch's transaction.
extension TelemetryStore {
    func writeSeen(_ seen: [TelemetryBatch.Seen]) throws(StoreError) {
        for seen in seen {
            if seen.key.fCnt >= 0 {
                try db.execute(
                    "INSERT INTO seen_log (device, f_cnt, payload_hash, seen_at) VALUES (?, ?, ?, ?)",
                    [.text(seen.key.devEUI), .integer(Int64(seen.key.fCnt)), .integer(seen.key.payloadHash), .real(seen.at)])
            } else {
                // Reports a gateway decoded (Irisys, Pressac) have no frame counter to tell fresh
                // from repeated, so each is looked up: they keep the indexed table. They come a
                // few per device per minute, not in floods.
                try db.execute(
                    "INSERT OR REPLACE INTO uplinks_seen (dev_eui, f_cnt, payload_hash, seen_at) VALUES (?, ?, ?, ?)",
                    [.text(seen.key.devEUI), .integer(Int64(seen.key.fCnt)), .integer(seen.key.payloadHash), .real(seen.at)])
            }
        }
    }

    /// Presence, people counts, dead letters and discovered devices: a few rows per batch.
    func writeSmallTables(_ batch: TelemetryBatch) throws(StoreError) {
        for report in batch.presence {
            try db.execute(
                """
                INSERT INTO presence (device, online, at, reports) VALUES (?, ?, ?, 1)
                ON CONFLICT (device) DO UPDATE SET online = excluded.online, at = excluded.at,
                    reports = reports + 1
                WHERE excluded.at >= presence.at
                """,
                [.text(report.device), .integer(report.online ? 1 : 0), .real(report.at)])
        }
        for day in batch.occupancy {
            try db.execute(
                """
                INSERT INTO occupancy (resource, day, people, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (resource) DO UPDATE SET day = excluded.day, people = excluded.people,
                    updated_at = excluded.updated_at
                """,
                [.text(day.resource), .integer(Int64(day.day)), .integer(Int64(day.people)), .real(day.updatedAt)])
        }
        for letter in batch.deadLetters {
            try db.execute(
                "INSERT INTO dead_letters (received_at, topic, device, reason, payload) VALUES (?, ?, ?, ?, ?)",
                [
                    .real(letter.receivedAt), .text(letter.topic), .text(letter.device), .text(letter.reason),
                    .blob(letter.payload),
                ])
            try db.execute(
                """
                INSERT INTO dead_letter_counts (device, count, last_reason, last_at) VALUES (?, 1, ?, ?)
                ON CONFLICT (device) DO UPDATE SET count = count + 1, last_reason = excluded.last_reason,
                    last_at = excluded.last_at
                """,
                [.text(letter.device), .text(letter.reason), .real(letter.receivedAt)])
        }
        for device in batch.discovered {
            try db.execute(
                """
                INSERT INTO discovered_devices
                    (dev_eui, first_seen, last_seen, count, last_payload, last_topic, device_name, vendor)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (dev_eui) DO UPDATE SET last_seen = excluded.last_seen, count = count + excluded.count,
                    last_payload = excluded.last_payload, last_topic = excluded.last_topic,
                    device_name = coalesce(excluded.device_name, device_name),
                    vendor = coalesce(excluded.vendor, vendor)
                """,
                [
                    .text(device.devEUI), .real(device.firstSeen), .real(device.lastSeen),
                    .integer(Int64(device.count)), .blob(device.lastPayload), .text(device.lastTopic),
                    SQLValue(device.deviceName), SQLValue(device.vendor),
                ])
        }
    }
}
