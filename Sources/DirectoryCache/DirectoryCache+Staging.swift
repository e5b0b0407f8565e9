import FleetJSON
import FleetLoop
import FleetStore
import Logging

// Large change sets: staged in slices on the loop, switched in one short transaction.
extension DirectoryCache {
    /// Like `finishSync`, but a ready plan of `stagingThreshold` changes or more is applied in
    /// slices across loop passes; `completion` runs when it is switched in (or failed). A staged
    /// run is recorded `succeeded` (with `reason`) in the switch's own transaction.
    func finishSyncStaged(
        _ run: SyncRun, read: Result<DirectorySnapshot, DirectoryError>, force: Bool, reason: String? = nil,
        completion: @escaping (SyncRunResult) -> Void
    ) {
        guard let loop, staging == nil, case .success(let snapshot) = read, snapshot.people.count >= stagingThreshold else {
            return completion(finishSync(run, read: read, force: force, detail: nil))
        }
        // The cache is read a slice per loop pass too: 100,000 rows at once take 100 ms or more.
        readUsers(after: nil, into: UserPages(), loop: loop) { [self] read in
            switch read {
            case .failure(let error):
                completion(finishSync(run, read: .failure(error), force: force, detail: nil))
            case .success(let current):
                plan(run, snapshot, current: current, force: force, reason: reason, loop: loop, completion: completion)
            }
        }
    }

    /// The pages read so far, in one place (a captured array would be copied at every page).
    private final class UserPages {
        var users: [User] = []
    }

    /// Every user of the cache in id order (as ``DirectoryStore/users(source:)`` gives them), a
    /// page per loop pass.
    private func readUsers(
        after id: String?, into pages: UserPages, loop: Reactor, completion: @escaping (Result<[User], DirectoryError>) -> Void
    ) {
        let page: [User]
        do throws(DirectoryError) { page = try store.users(after: id, limit: Self.readPage) } catch {
            return completion(.failure(error))
        }
        pages.users += page
        guard page.count == Self.readPage, let last = page.last?.id else {
            let users = pages.users
            pages.users = []
            return completion(.success(users))
        }
        loop.nextTick(after: sliceGap) { [self] in readUsers(after: last, into: pages, loop: loop, completion: completion) }
    }

    static let readPage = 500

    private func plan(
        _ run: SyncRun, _ snapshot: DirectorySnapshot, current: [User], force: Bool, reason: String?, loop: Reactor,
        completion: @escaping (SyncRunResult) -> Void
    ) {
        let read = Result<DirectorySnapshot, DirectoryError>.success(snapshot)
        // Plan a slice per loop pass, then stage (or apply a small result directly).
        let builder = PlanBuilder(current: current, snapshot: snapshot, rules: rules, now: clock.unixTime, force: force)
        func plan() {
            guard Self.stepFor(sliceBudget, { builder.step(limit: 200) }) else { return loop.nextTick(after: sliceGap, plan) }
            func release() {
                if !builder.release() { loop.nextTick(after: sliceGap, release) }
            }
            loop.nextTick(after: sliceGap, release)
            let planned = builder.plan
            guard staging == nil, planned.verdict == .ready, planned.changes.count >= stagingThreshold else {
                return completion(finishSync(run, read: read, force: force, detail: nil, planned: planned))
            }
            stage(run, planned, meta: snapshot.deltaMeta, reason: reason, completion: completion)
        }
        plan()
    }

    /// Runs `step` (true when done) until it is done or `budget` of real time went by, so a slice
    /// of planning costs about the same on a slow box as on a fast one.
    static func stepFor(_ budget: Duration, _ step: () -> Bool) -> Bool {
        let clock = SystemClock()
        let end = clock.now + budget
        while !step() {
            if clock.now >= end { return false }
        }
        return true
    }

    /// Whether a large apply is between its first slice and its switch.
    public var isStaging: Bool { staging.map { !$0.switched } ?? false }

    /// Slices done so far by the large apply of run `id`, while it is not switched in yet (the run
    /// list shows an operator that a long confirmation is moving).
    public func applySlices(runID id: Int64) -> Int? {
        guard let staging, !staging.switched, stagingRun == id else { return nil }
        return staging.slices
    }

    func refuseWhileStaging() throws(DirectoryError) {
        if isStaging {
            throw DirectoryError(.conflict, reason: "a large change set is being applied; nothing changed, the next run retries")
        }
    }

    private func stage(
        _ started: SyncRun, _ plan: SyncPlan, meta: [(String, String)], reason: String?,
        completion: @escaping (SyncRunResult) -> Void
    ) {
        var run = started
        run.counts = plan.counts
        _ = try? store.recordRun(run)
        let job = StagedApply(store: store, plan: plan, now: clock.unixTime, meta: meta, targetSlice: sliceBudget)
        job.atSwitch = { [self] () throws(DirectoryError) in
            var switched = run
            switched.status = .succeeded
            switched.reason = reason
            switched.finishedAt = clock.unixTime
            _ = try store.recordRun(switched)
        }
        staging = job
        stagingRun = run.id
        logger.info("applying a large change set in slices", metadata: [
            "source": "\(run.source)", "changes": "\(plan.changes.count)",
        ])
        var reported = false
        func finish(_ status: SyncRun.Status, _ reason: String?, _ error: DirectoryError?) {
            reported = true
            run.status = status
            run.reason = reason
            run.finishedAt = clock.unixTime
            var counts = run.counts.object ?? JSONObject()
            counts["slices"] = JSON(job.slices)
            run.counts = .object(counts)
            _ = try? store.recordRun(run)
            log(run, detail: nil)
            completion(SyncRunResult(run: run, plan: plan, error: error))
        }
        func next() {
            // Stopping: the next table is left as it is (the live one is untouched) and the run
            // stays `running`; the next start drops the table and settles the run.
            if stopping && !job.switched {
                job.restoreSettings()
                staging = nil
                logger.notice("large apply stopped before its switch; nothing of it is live", metadata: [
                    "source": "\(run.source)", "run": "\(run.id ?? 0)", "slices": "\(job.slices)",
                ])
                return
            }
            do throws(DirectoryError) {
                try job.step()
            } catch {
                job.restoreSettings()
                staging = nil
                _ = try? DirectoryStore.wrap("stagedApply") { () throws(StoreError) in
                    try store.db.execute("DROP TABLE IF EXISTS \(StagedApply.next)")
                }
                if !reported { finish(.failed, "\(error.description); the cache is unchanged", error) }
                return
            }
            if job.switched && !reported { finish(.succeeded, reason, nil) }
            if job.isDone {
                staging = nil
                return
            }
            // A slice that waited on a busy disk (another database checkpointing, a flood of
            // sensor writes) is followed by as long a pause, up to 50 gaps (50 ms): doors are
            // answered in between and the disk catches up; the apply takes longer instead.
            loop?.nextTick(after: max(sliceGap, min(job.waited, sliceGap * 50)), next)
        }
        loop?.nextTick(after: sliceGap, next)
    }
}

// Audit rows of door decisions, written in batches on the loop.
extension DirectoryCache {
    func queueAudit(_ entry: AuditEntry) {
        guard let loop else { return writeAudit([entry]) }
        pendingAudit.append(entry)
        if pendingAudit.count == 1 {
            loop.schedule(after: auditFlushInterval) { [weak self] in self?.flushAudit() }
        }
    }

    /// Writes the queued decisions now (also before reading the audit log, and at shutdown).
    public func flushAudit() {
        guard !pendingAudit.isEmpty else { return }
        let batch = pendingAudit
        pendingAudit = []
        writeAudit(batch)
    }

    private func writeAudit(_ entries: [AuditEntry]) {
        do throws(DirectoryError) {
            try store.appendAudit(entries)
        } catch {
            logger.error("audit write failed", metadata: ["error": "\(error)", "rows": "\(entries.count)"])
        }
    }
}
