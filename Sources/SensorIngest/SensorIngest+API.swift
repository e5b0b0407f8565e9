import FleetJSON
import FleetStore

/// The JSON views the admin API serves, shaped here so the daemon only routes.
extension SensorIngest {
    /// What `GET /api/v1/sensors` lists: each claim with its newest reading per kind, battery and
    /// presence; a VS133 / VS135 also with the counting lines it sums (`"lines": [1, 2]`).
    public func sensorsJSON() throws(StoreError) -> JSON {
        flush()  // a reader sees what was received, not what the last batch held
        let presence = Dictionary(try store.presence().map { ($0.device, $0) }) { a, _ in a }
        var out: [JSON] = []
        for claimed in claimedSensors.values.sorted(by: { $0.sensor.devEUI < $1.sensor.devEUI }) {
            let s = claimed.sensor
            let latest = try store.latest(sensor: s.devEUI)
            var object: JSONObject = [
                "dev_eui": .string(s.devEUI), "vendor": .string(s.vendor), "model": .string(s.model),
                "resource": .string(s.resource), "origin": .string(claimed.origin.rawValue),
                "latest": .array(latest.map(\.json)),
                "last_seen": latest.map(\.receivedAt).max().map(JSON.number) ?? .null,
                "battery": latest.first { $0.kind == .battery }.map { .number($0.value) } ?? .null,
            ]
            if let name = s.name { object["name"] = .string(name) }
            if CountedLines.applies(to: s.model) {
                object["lines"] = .array((s.lines ?? CountedLines.standard).map { .number(Double($0)) })
            }
            if let p = presence[s.devEUI] {
                object["online"] = .bool(p.online)
                object["presence_at"] = .number(p.at)
            }
            out.append(.object(object))
        }
        return ["sensors": .array(out)]
    }

    /// `GET /api/v1/sensors/discovered`: devices heard but not claimed, newest first.
    public func discoveredJSON() throws(StoreError) -> JSON {
        flush()
        let devices = try store.discovered()
        return [
            "discovered": .array(devices.map { d in
                var object: JSONObject = [
                    "dev_eui": .string(d.devEUI), "first_seen": .number(d.firstSeen), "last_seen": .number(d.lastSeen),
                    "count": .number(Double(d.count)), "last_payload_hex": .string(Hex.encode(d.lastPayload, uppercase: true)),
                    "last_topic": .string(d.lastTopic),
                ]
                if let name = d.deviceName { object["device_name"] = .string(name) }
                if let vendor = d.vendor { object["vendor"] = .string(vendor) }
                object["reason"] = .string(unclaimedReason(d.devEUI))
                return .object(object)
            })
        ]
    }

    /// `GET /api/v1/sensors/dead-letters`: the newest messages that could not be used, with why
    /// (payloads cut to their first 256 bytes), and the count per device since the database was
    /// made (`""` is a message whose device was never known: not JSON, oversized, no DevEUI).
    public func deadLettersJSON(limit: Int) throws(StoreError) -> JSON {
        flush()
        let letters = try store.deadLetters(limit: limit)
        let counts = try store.deadLetterCounts()
        return [
            "dead_letters": .array(letters.map { letter in
                [
                    "received_at": .number(letter.receivedAt), "topic": .string(letter.topic),
                    "device": .string(letter.device), "reason": .string(letter.reason),
                    "payload_bytes": .number(Double(letter.payload.count)),
                    "payload_hex": .string(Hex.encode(Array(letter.payload.prefix(256)), uppercase: true)),
                ]
            }),
            "counts": .array(counts.map { entry in
                ["device": .string(entry.device), "count": .number(Double(entry.count)), "last_reason": .string(entry.lastReason)]
            }),
        ]
    }

    /// How long one raw telemetry request may read before it answers with `more_before`.
    public static let rawQueryBudget: Duration = .milliseconds(4)

    /// `GET /api/v1/telemetry`: raw readings, or rollups when `bucket` is given.
    ///
    /// A raw answer that ran out of ``rawQueryBudget`` before reaching `from` carries
    /// `"more_before": T`: ask again with `to=T` for the older readings.
    public func telemetryJSON(
        sensor: String?, resource: String?, kind: ReadingKind?, from: Double?, to: Double?, bucket: RollupBucket?,
        limit: Int, budget: Duration = SensorIngest.rawQueryBudget
    ) throws(StoreError) -> JSON {
        // Batches and rollup deltas wait up to 50 ms and 5 s; a reader gets them now.
        flush()
        if let bucket {
            let rows = try store.rollups(
                bucket: bucket, sensor: sensor, resource: resource, kind: kind?.rawValue, from: from, to: to, limit: limit)
            return ["bucket": .string(bucket.rawValue), "buckets": .array(rows.map(\.json))]
        }
        let started = clock.now
        let query = RawSeriesQuery(sensor: sensor, resource: resource, kind: kind, from: from, to: to, limit: limit)
        let answer = try query.run(on: store) { clock.now.since(started) >= budget }
        var out: JSONObject = ["readings": .array(answer.readings.map(\.json))]
        if let more = answer.moreBefore { out["more_before"] = .number(more) }
        return .object(out)
    }

    /// `GET /api/v1/occupancy`: people and occupied state per resource with counters or PIR.
    public func occupancyJSON() -> JSON {
        let now = clock.unixTime
        return [
            "resources": .array(occupancy.resources.map { resource in
                let state = occupancy.state(of: resource, now: now)
                return [
                    "resource": .string(resource), "occupied": .bool(state.occupied),
                    "people": state.people.map { .number(Double($0)) } ?? .null,
                ]
            })
        ]
    }

    /// The permit window as the API shows it (`{"open":false}` when closed).
    /// A VS133 / VS135 window also shows the counting lines its claims list (`"lines": [1, 2]`).
    public func permitJSON() -> JSON {
        guard let window = permitWindow else { return ["open": false] }
        var object: JSONObject = [
            "open": true, "vendor": .string(window.vendor), "model": .string(window.model),
            "resource": .string(window.resource), "until": .number(window.until),
            "remaining_s": .number((window.until - clock.unixTime).rounded()),
            "claimed": .array(window.claimed.map(JSON.string)),
            "refused": .object(JSONObject(window.refused.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) })),
        ]
        if CountedLines.applies(to: window.model) {
            object["lines"] = .array((window.lines ?? CountedLines.standard).map { .number(Double($0)) })
        }
        return .object(object)
    }

    /// Why a discovered device is not claimed: what the last claim window said about it, else
    /// what the installer can do.
    func unclaimedReason(_ device: String) -> String {
        if let permit, let reason = permit.refused[device] {
            return "claim window for \(permit.model) → \(permit.resource) passed it over: \(reason)"
        }
        return "not claimed: `fleet-controller sensors claim \(device) --vendor V --model M --resource R`, "
            + "or open a claim window with `sensors permit`"
    }
}
