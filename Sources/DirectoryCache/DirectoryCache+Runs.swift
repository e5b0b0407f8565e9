import FleetJSON
import FleetStore

// Confirming held runs, pausing syncs, looking runs up.
extension DirectoryCache {
    /// Applies the held run `id` (`POST /api/v1/sync/runs/{id}/apply`, `sync apply ID --force`):
    /// the answer that was held is planned again against the cache as it is now, with the
    /// deactivation limit lifted, and the run record becomes `succeeded`. The other rules still
    /// apply (complete read, an active Admin).
    public func applyHeld(runID id: Int64) throws(DirectoryError) -> SyncRunResult {
        guard var run = try store.run(id: id) else {
            throw DirectoryError(.notFound, reason: "no sync run \(id); `sync runs` lists them")
        }
        guard run.status == .held else {
            throw DirectoryError(.conflict, reason: "run \(id) is \(run.status.rawValue); only a held run can be applied")
        }
        guard let snapshot = held[id] else {
            throw DirectoryError(.conflict, reason:
                "the answer held by run \(id) is no longer kept (a newer run of \(run.source) replaced it, or the daemon restarted); run `sync run --source \(run.source)` and confirm the new held run")
        }
        try refuseWhileStaging()
        let plan = try self.plan(snapshot, force: true)
        if case .failed(let reason) = plan.verdict {
            throw DirectoryError(.conflict, reason: "run \(id) cannot be applied any more: \(reason)")
        }
        try store.apply(plan, at: clock.unixTime, meta: snapshot.deltaMeta)
        held[id] = nil
        run.status = .succeeded
        run.reason = "confirmed by an admin after being held: " + (run.reason ?? "")
        run.counts = plan.counts
        run.finishedAt = clock.unixTime
        try store.recordRun(run)
        logger.notice("held directory sync applied", metadata: [
            "source": "\(run.source)", "run": "\(id)", "counts": "\(plan.counts)",
        ])
        return SyncRunResult(run: run, plan: plan, error: nil)
    }

    /// The held runs whose answer can still be confirmed.
    public var confirmableRuns: [Int64] { held.keys.sorted() }

    /// Scheduled and manual syncs are skipped while paused; persisted, so a restart keeps it.
    public var syncPaused: Bool {
        (try? store.meta("sync_paused")) == "1"
    }

    public func setSyncPaused(_ paused: Bool, by who: String = "admin") throws(DirectoryError) {
        try DirectoryStore.wrap("setSyncPaused") { () throws(StoreError) in try store.setMeta("sync_paused", paused ? "1" : "0") }
        logger.notice(paused ? "directory sync paused" : "directory sync resumed", metadata: ["by": "\(who)"])
    }
}
