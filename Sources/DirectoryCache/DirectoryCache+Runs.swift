import FleetJSON
import FleetStore

// Confirming held runs, pausing syncs, looking runs up.
extension DirectoryCache {
    /// Applies the held run `id` (`POST /api/v1/sync/runs/{id}/apply`, `sync apply ID --force`):
    /// the answer that was held is planned again against the cache as it is now, with the
    /// deactivation limit lifted, and the run record becomes `succeeded`. The other rules still
    /// apply (complete read, an active Admin). Held full and delta runs alike, also after a
    /// restart: the answer is kept in `directory.sqlite` until confirmed or replaced.
    public func applyHeld(runID id: Int64) throws(DirectoryError) -> SyncRunResult {
        var (run, answer) = try heldAnswer(id)
        try refuseWhileStaging()
        let plan: SyncPlan
        let meta: [(String, String)]
        switch answer {
        case .full(let snapshot):
            plan = try self.plan(snapshot, force: true)
            meta = snapshot.deltaMeta
        case .delta(let changes, let label):
            plan = try deltaPlan(changes, source: label, force: true)
            meta = [(DirectoryStore.deltaKey(label.name), changes.deltaLink)]
        }
        if case .failed(let reason) = plan.verdict {
            throw DirectoryError(.conflict, reason: "run \(id) cannot be applied any more: \(reason)")
        }
        try store.apply(plan, at: clock.unixTime, meta: meta)
        switch answer {
        case .full(let snapshot): upnAliases.replace(with: snapshot)
        case .delta(let changes, let label): upnAliases.update(source: label.name, changes: changes.changes)
        }
        run.status = .succeeded
        run.reason = "confirmed by an admin after being held: " + (run.reason ?? "")
        var counts = plan.counts.object ?? JSONObject()
        if answer.isDelta {
            counts["mode"] = "delta"
            counts["changes_read"] = JSON(answer.count)
        }
        run.counts = .object(counts)
        run.finishedAt = clock.unixTime
        try store.recordRun(run)
        heldRuns.applied(id)
        heldRuns.record(run, holding: nil, delta: answer.isDelta)
        logger.notice("held directory sync applied", metadata: [
            "source": "\(run.source)", "run": "\(id)", "counts": "\(plan.counts)",
        ])
        return SyncRunResult(run: run, plan: plan, error: nil)
    }

    /// ``applyHeld(runID:)`` for answers of any size: a full answer of `stagingThreshold` people
    /// or more is planned a slice per loop pass and staged like a sync, so confirming 100,000
    /// people never stalls the loop. Returns the run as recorded meanwhile (`running`) when the
    /// work goes on over later passes; nil when `completion` already ran. If the answer cannot be
    /// applied any more, the run goes back to `held` with the reason added, and the cache is
    /// unchanged.
    @discardableResult
    public func confirmHeld(
        runID id: Int64, completion: @escaping (Result<SyncRunResult, DirectoryError>) -> Void
    ) throws(DirectoryError) -> SyncRun? {
        let (run, answer) = try heldAnswer(id)
        guard loop != nil, !isStaging, case .full(let snapshot) = answer, snapshot.people.count >= stagingThreshold else {
            completion(Result { () throws(DirectoryError) in try applyHeld(runID: id) })
            return nil
        }
        var running = run
        running.status = .running
        try store.recordRun(running)
        let heldReason = run.reason ?? ""
        let confirmed = "confirmed by an admin after being held: " + heldReason
        // The run stays `running` until the switch records it `succeeded` in the same transaction;
        // a stop before that leaves it `running` with its answer saved, and the next start holds
        // it again (``recoverAfterRestart()``).
        finishSyncStaged(running, read: .success(snapshot), force: true, reason: confirmed) { [self] result in
            var done = result.run
            if done.status == .succeeded {
                done.reason = confirmed
                record(&done)
                heldRuns.applied(id)
                heldRuns.record(done, holding: nil, delta: false)
                if done.counts["slices"] != nil { upnAliases.replace(with: snapshot) }
                logger.notice("held directory sync applied", metadata: ["source": "\(done.source)", "run": "\(id)"])
                return completion(.success(SyncRunResult(run: done, plan: result.plan, error: nil)))
            }
            let why = result.reason ?? "unknown"
            done.status = .held
            done.reason = heldReason + "; a confirmation failed and changed nothing: " + why
            record(&done)
            completion(.failure(DirectoryError(.conflict, reason: "run \(id) cannot be applied any more: \(why)")))
        }
        return running
    }

    /// The held run `id` and the answer it held, or why it cannot be confirmed.
    private func heldAnswer(_ id: Int64) throws(DirectoryError) -> (SyncRun, HeldAnswer) {
        guard let run = try store.run(id: id) else {
            throw DirectoryError(.notFound, reason: "no sync run \(id); `sync runs` lists them")
        }
        guard run.status == .held else {
            throw DirectoryError(.conflict, reason: "run \(id) is \(run.status.rawValue); only a held run can be applied")
        }
        let answer: HeldAnswer
        switch heldRuns.lookup(id, source: run.source) {
        case .ready(let found): answer = found
        case .loading(let done, let total):
            throw DirectoryError(.conflict, reason:
                "the answer held by run \(id) is being read back from directory.sqlite after the restart (\(done) of \(total) rows); try again in a few seconds")
        case .gone(let why):
            throw DirectoryError(.conflict, reason:
                "the answer held by run \(id) is no longer kept: \(why); run `sync run --source \(run.source)` and confirm the new held run")
        }
        return (run, answer)
    }

    /// Once after a start, with `loop` set, before any sync: what a stop or a crash cut short is
    /// settled. Tables of an unfinished large apply are dropped (readers never saw them). A
    /// confirmation of a held run is held again with its saved answer and a note, so the admin
    /// confirms again and nothing is lost; any other run left `running` is recorded as failed
    /// (nothing was held, the next run reads the source again). Then held answers are read back
    /// so they can be confirmed by id.
    public func recoverAfterRestart() {
        do throws(DirectoryError) {
            let dropped = try store.dropStagingLeftovers()
            if !dropped.isEmpty {
                logger.notice("tables of a large apply cut short by a stop dropped", metadata: ["tables": "\(dropped)"])
            }
        } catch {
            logger.error("tables of an unfinished large apply could not be dropped", metadata: ["error": "\(error)"])
        }
        do throws(DirectoryError) {
            let resume = resumeConfirmations
            let settled = try store.settleInterruptedRuns(
                at: clock.unixTime, note: { id in Self.interruptedConfirmation(id, resumed: resume) },
                unsaved: "the daemon stopped during the confirmation before the held answer was saved; nothing was applied; run the sync again and confirm the new held run",
                otherwise: "the daemon stopped before this run was recorded as finished; the next run reads the source again")
            for id in settled.heldAgain {
                guard resume else {
                    logger.warning("a confirmation interrupted by a stop: nothing of it was applied, the run is held again; confirm it again",
                                   metadata: ["run": "\(id)"])
                    continue
                }
                logger.notice("a confirmation interrupted by a stop resumes once its held answer is read back", metadata: ["run": "\(id)"])
                heldRuns.whenReady(id) { [weak self] in
                    guard let self else { return }
                    // After the slice that read the answer back, not inside it.
                    if let loop { loop.nextTick(after: sliceGap) { [weak self] in self?.resumeConfirmation(id) } } else { resumeConfirmation(id) }
                }
            }
            if settled.failed > 0 { logger.warning("sync runs interrupted by a stop recorded as failed", metadata: ["runs": "\(settled.failed)"]) }
        } catch {
            logger.error("interrupted sync runs could not be recorded", metadata: ["error": "\(error)"])
        }
        restoreHeldRuns()
    }

    /// Added to the reason of a held run whose confirmation a stop cut short.
    static func interruptedConfirmation(_ id: Int64, resumed: Bool = false) -> String {
        resumed
            ? "confirmation interrupted by a stop, nothing of it was applied; resumed at start"
            : "confirmation interrupted by a stop, nothing of it was applied; confirm again (`sync apply \(id) --force`)"
    }

    /// Confirms again a run whose confirmation a stop cut short; if it cannot apply any more, it
    /// stays held with the reason (``confirmHeld(runID:completion:)``) and the admin decides.
    private func resumeConfirmation(_ id: Int64) {
        guard !stopping, (try? store.run(id: id))?.status == .held else { return }
        let outcome: (Result<SyncRunResult, DirectoryError>) -> Void = { [weak self] result in
            guard let self else { return }
            switch result {
            case .success: logger.notice("a confirmation interrupted by a stop was resumed and applied", metadata: ["run": "\(id)"])
            case .failure(let error):
                logger.error("a confirmation interrupted by a stop could not be resumed; the run stays held",
                             metadata: ["run": "\(id)", "error": "\(error)"])
            }
            if let run = try? store.run(id: id) { confirmationResumed?(run) }
        }
        do throws(DirectoryError) { try confirmHeld(runID: id, completion: outcome) } catch { outcome(.failure(error)) }
    }

    /// The daemon is stopping: queued decisions are written and a large apply takes no further
    /// slice, so the stop is quick; the next start settles what it cut short.
    public func stop() {
        stopping = true
        flushAudit()
    }

    /// The held runs whose answer can be confirmed now.
    public var confirmableRuns: [Int64] { heldRuns.answers.keys.sorted() }

    /// Scheduled and manual syncs are skipped while paused; persisted, so a restart keeps it.
    public var syncPaused: Bool {
        (try? store.meta("sync_paused")) == "1"
    }

    public func setSyncPaused(_ paused: Bool, by who: String = "admin") throws(DirectoryError) {
        try DirectoryStore.wrap("setSyncPaused") { () throws(StoreError) in try store.setMeta("sync_paused", paused ? "1" : "0") }
        logger.notice(paused ? "directory sync paused" : "directory sync resumed", metadata: ["by": "\(who)"])
    }
}
