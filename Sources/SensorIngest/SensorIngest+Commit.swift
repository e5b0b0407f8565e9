import FleetLoop
import Logging

// Committing what `handle` buffered: one transaction per batch (with the occupancy it changed),
// the WAL checkpoints between commits, and the people counts announced after a commit.
extension SensorIngest {
    /// Commits everything buffered since the last flush in one transaction and returns the number
    /// of readings written. The daemon calls it once per loop tick and once at shutdown.
    ///
    /// Before the commit, counter readings update the people count per resource; a changed count
    /// is stored with the batch and as a derived `people_count` reading (sensor `derived`).
    ///
    /// On a database error the batch is kept for the next call (readings beyond
    /// `maxPendingReadings` are dropped oldest first and counted), and the error is logged once
    /// until a flush succeeds again.
    @discardableResult
    public func flush() -> Int { commitPending(rollupsDue: true, drain: true) }

    /// Copies the WAL back into telemetry.sqlite between commits (the store turns SQLite's
    /// automatic checkpoint off, which would run inside a commit): once writes pause, or when
    /// the WAL passed ``checkpointFrames``. The daemon calls it on a short timer; a failure is
    /// logged once and the next call retries.
    public func checkpoint() {
        let frames = store.walFrames
        guard frames > 0 else { return }
        let quiet = lastCommit.map { clock.now.since($0) >= Self.checkpointQuiet } ?? true
        guard quiet || frames >= checkpointFrames else { return }
        do {
            let result = try store.checkpoint()
            checkpoints = (checkpoints.count + 1, result.logFrames)
        } catch {
            logOnce(key: "store|checkpoint", level: .warning, "telemetry WAL checkpoint failed; retrying: \(error)",
                    metadata: [:])
        }
    }

    /// What the daemon calls at the end of every loop tick and on a short timer: commits once
    /// the buffer holds ``batchReadings`` readings or its oldest entry is ``batchAge`` old, so a
    /// flood is written in transactions of a few thousand rows (each a few milliseconds) rather
    /// than one per message. Rollup deltas go along every ``rollupInterval``.
    @discardableResult
    public func flushIfDue() -> Int {
        let now = clock.now
        let rollupsDue = !rollupDeltas.isEmpty && now.since(lastRollupWrite) >= Self.rollupInterval
        // A rollup backlog rides along with commits that are due anyway (by size or age).
        guard !pending.isEmpty || rollupsDue || !rollupBacklog.isEmpty else {
            pendingSince = nil
            return 0
        }
        let since = pendingSince ?? now
        pendingSince = since
        guard pending.readings.count >= Self.batchReadings || now.since(since) >= Self.batchAge || rollupsDue else {
            return 0
        }
        return commitPending(rollupsDue: rollupsDue, drain: false)
    }

    /// - Parameter drain: write every rollup delta now (a reader wants them), not a slice.
    private func commitPending(rollupsDue: Bool, drain: Bool) -> Int {
        let now = clock.unixTime
        var written = 0
        pendingSince = nil
        if pending.rollupsApplied < pending.readings.count {
            rollupDeltas.merge(pending.readings[pending.rollupsApplied...])
            pending.rollupsApplied = pending.readings.count
        }
        if rollupsDue {
            rollupBacklog.absorb(rollupDeltas)
            rollupDeltas = RollupDeltas()
            lastRollupWrite = clock.now
        }
        // A failed commit keeps its slice; the backlog waits behind it.
        if pending.rollups.isEmpty && !rollupBacklog.isEmpty {
            pending.rollups = rollupBacklog.take(drain ? Int.max : Self.rollupSlice)
        } else if drain {
            pending.rollups.absorb(rollupBacklog)
            rollupBacklog = RollupDeltas()
        }
        pending.writesAllLatest = drain
        if !pending.isEmpty || (drain && store.hasUnwrittenLatest) {
            deriveOccupancy(now: now)
            if pending.rollupsApplied < pending.readings.count {  // derived people counts
                if drain {
                    pending.rollups.merge(pending.readings[pending.rollupsApplied...])
                } else {
                    rollupDeltas.merge(pending.readings[pending.rollupsApplied...])
                }
                pending.rollupsApplied = pending.readings.count
            }
            do {
                try commitCounting(pending)
                written = pending.readings.count
                counters.stored += written
                lastCommit = clock.now
                let committed = pending
                pending = TelemetryBatch()
                if !pendingSeen.isEmpty {
                    for seen in committed.seen where seen.key.fCnt < 0 { pendingSeen.remove(seen.key) }
                }
                pendingDiscovered.removeAll(keepingCapacity: true)
                if storeFailing {
                    storeFailing = false
                    logger.notice("telemetry store writable again")
                }
                if !committed.readings.isEmpty { onCommitted?(committed.readings) }
                announceOccupancy(now: now)
            } catch {
                counters.storeErrors += 1
                if !storeFailing {
                    storeFailing = true
                    logger.error("cannot write telemetry; keeping the batch", metadata: ["error": "\(error)"])
                }
                let excess = pending.readings.count - Self.maxPendingReadings
                if excess > 0 {
                    pending.readings.removeFirst(excess)
                    counters.dropped += excess
                }
                return 0
            }
        }
        if now - (lastPrune ?? -.infinity) >= Self.pruneInterval {
            lastPrune = now
            do {
                // A full slice means more is waiting: come back in a second, not in ten minutes.
                if try store.pruneSeen(before: now - dedupeWindow) { lastPrune = now - Self.pruneInterval + 1 }
                try store.pruneDeadLetters(keep: Self.deadLettersKept)
            } catch {
                logger.warning("cannot prune telemetry tables", metadata: ["error": "\(error)"])
            }
        }
        return written
    }

    /// Runs counters through the tracker; only readings not yet applied (a failed commit keeps
    /// its batch, and its counts must not be added twice) are looked at.
    private func deriveOccupancy(now: Double) {
        var changed: [String: OccupancyTracker.Day] = [:]
        for day in occupancy.rollOver(now: now) {
            changed[day.resource] = day
            occupancyTouched.insert(day.resource)
        }
        for index in pending.occupancyApplied..<pending.readings.count
        where OccupancyTracker.matters(pending.readings[index].kind) {
            occupancyTouched.insert(pending.readings[index].resource)
            if let day = occupancy.apply(pending.readings[index]) { changed[day.resource] = day }
        }
        pending.occupancyApplied = pending.readings.count
        guard !changed.isEmpty else { return }
        pending.occupancy += changed.values.sorted { $0.resource < $1.resource }
        if let kind = ReadingKind(rawValue: "people_count") {
            for day in changed.values.sorted(by: { $0.resource < $1.resource }) {
                pending.readings.append(Reading(
                    sensor: "derived", resource: day.resource, kind: kind, value: Double(day.people), unit: "people",
                    timestamp: day.updatedAt, receivedAt: now))
            }
            pending.occupancyApplied = pending.readings.count
        }
    }

    private func announceOccupancy(now: Double) {
        guard !occupancyTouched.isEmpty else { return }
        let touched = occupancyTouched
        occupancyTouched.removeAll(keepingCapacity: true)
        for resource in touched {
            let state = occupancy.state(of: resource, now: now)
            guard occupancyShown[resource] != state else { continue }
            occupancyShown[resource] = state
            onOccupancyChanged?(resource, state)
        }
    }

    /// People count and occupied state of a resource, for the API.
    public func occupancyState(of resource: String) -> OccupancyTracker.State {
        occupancy.state(of: resource, now: clock.unixTime)
    }

    /// Resources with counters or presence sensors.
    public var occupancyResources: [String] { occupancy.resources }
}
