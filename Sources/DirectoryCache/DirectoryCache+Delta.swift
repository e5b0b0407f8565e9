import FleetJSON
import Logging

/// Delta runs: the changes since the stored deltaLink, laid over the cached people of the source.
///
/// Cheap enough to run often (one request when nothing changed), so a disabled or deleted account
/// is refused at the door within one delta interval. Roles are left to full reads: a user the
/// cache does not hold yet (in no role group until now) is ignored here and added by the next
/// full read. The same rules guard the cache: the last active Admin cannot be disabled away,
/// too many deactivations are held, emails and badges stay unique.
extension DirectoryCache {
    /// Runs a delta round of `source`, or a full read when there is no stored deltaLink or Graph
    /// says the token expired (410, `syncStateNotFound`, `resyncRequired`).
    @discardableResult
    public func syncDelta(
        source: GraphSource, force: Bool = false, completion: @escaping (SyncRunResult) -> Void = { _ in }
    ) -> SyncRun {
        guard let link = try? store.deltaLink(source: source.name) else {
            return sync(source: source, force: force, completion: completion)
        }
        let run = beginRun(source: source.name)
        source.readChanges(since: link) { [self] result in
            switch result {
            case .failure(let error) where error.code == .resyncRequired:
                logger.warning("directory delta token expired; reading the source in full", metadata: [
                    "source": "\(source.name)", "reason": "\(error.reason)",
                ])
                try? store.clearDeltaLink(source: source.name)
                // A full read of a large tenant: applied in slices like any other full run.
                source.read { [self] read in finishSyncStaged(run, read: read, force: force, completion: completion) }
            case .failure(let error):
                completion(finishSync(run, read: .failure(error), force: force, detail: nil))
            case .success(let changes):
                completion(finishDelta(run, changes, source: source, force: force))
            }
        }
        return run
    }

    private func finishDelta(_ started: SyncRun, _ changes: DirectoryChanges, source: GraphSource, force: Bool) -> SyncRunResult {
        var run = started
        var plan: SyncPlan?
        var failure: DirectoryError?
        do throws(DirectoryError) {
            let made = try deltaPlan(changes, source: source.label, force: force)
            plan = made
            var counts = made.counts.object ?? JSONObject()
            counts["mode"] = "delta"
            counts["changes_read"] = JSON(changes.changes.count)
            run.counts = .object(counts)
            // A held delta does not store its deltaLink: the next delta round reads the same changes again.
            try settle(&run, made) { () throws(DirectoryError) in
                try store.apply(made, at: clock.unixTime, meta: [(DirectoryStore.deltaKey(source.name), changes.deltaLink)])
            }
            if run.status == .succeeded { upnAliases.update(source: source.name, changes: changes.changes) }
        } catch {
            failure = error
            run.status = .failed
            run.reason = error.description
        }
        if record(&run) {
            heldRuns.record(run, holding: run.status == .held ? .delta(changes, source.label) : nil, delta: true)
        }
        if run.status != .succeeded || plan?.changes.isEmpty == false { log(run, detail: nil) }
        return SyncRunResult(run: run, plan: plan, error: failure)
    }

    /// The plan of a delta round: each change laid over the cached row, in change order.
    func deltaPlan(_ delta: DirectoryChanges, source: SourceLabel, force: Bool) throws(DirectoryError) -> SyncPlan {
        let now = clock.unixTime
        var before: [String: User] = [:]
        var after: [String: User] = [:]
        var order: [String] = []
        for change in delta.changes {
            var known = after[change.id]
            if known == nil { known = try store.user(source: source.name, externalID: change.id) }
            guard let known else { continue }
            if before[change.id] == nil {
                before[change.id] = known
                order.append(change.id)
            }
            after[change.id] = Self.apply(change, to: known, now: now)
        }
        var changes: [SyncPlan.Change] = []
        for id in order {
            guard let old = before[id], var new = after[id], new != old else { continue }
            new.updatedAt = now
            if new.active { new.deactivatedAt = nil } else if old.active { new.deactivatedAt = now }
            changes.append(SyncPlan.Change(before: old, after: new))
        }
        let activeBefore = try store.activeCount(source: source.name)
        var plan = SyncPlan(source: source.name, verdict: .ready, changes: changes, activeBefore: activeBefore,
            seen: delta.changes.count)
        if let reason = try deltaConflict(changes, source: source) {
            plan.verdict = .failed(reason: reason)
            return plan
        }
        let adminsAfter = try store.activeCount(source: source.name, role: .admin)
            - changes.filter { $0.before?.active == true && $0.before?.role == .admin }.count
            + changes.filter { $0.after.active && $0.after.role == .admin }.count
        if adminsAfter < 1 {
            plan.verdict = .failed(reason: "these changes would leave no active Admin in \(source.origin): \(source.adminRemedy)")
            return plan
        }
        let deactivated = plan.deactivations.count
        if !force, activeBefore > 0, Double(deactivated) > rules.maxDeactivationShare * Double(activeBefore) + 1e-9 {
            let limit = Int((rules.maxDeactivationShare * 100).rounded())
            plan.verdict = .held(reason:
                "\(source.origin) changes would deactivate \(deactivated) of \(activeBefore) active users, above the \(limit) % limit; check the source, then confirm with `sync apply --force` (or `sync run --source \(source.name) --delta --force`)")
        }
        return plan
    }

    /// An email or badge that would belong to two people after the changes.
    private func deltaConflict(_ changes: [SyncPlan.Change], source: SourceLabel) throws(DirectoryError) -> String? {
        let moving = Set(changes.map(\.after.id))
        var emails: Set<String> = []
        var badges: Set<String> = []
        for change in changes {
            let user = change.after
            guard emails.insert(user.email).inserted else { return "\(source.origin) gives \(user.email) to two people" }
            if let holder = try store.user(email: user.email), holder.id != user.id, !moving.contains(holder.id) {
                return "\(user.email) of \(user.displayName) already belongs to \(holder.displayName) (source \(holder.source)); each person needs their own address"
            }
            guard let badge = user.badge else { continue }
            guard badges.insert(badge).inserted else { return "\(source.origin) gives badge \(badge) to two people" }
            if let holder = try store.user(badge: badge), holder.id != user.id, !moving.contains(holder.id) {
                return "badge \(badge) of \(user.email) already belongs to \(holder.email) (source \(holder.source)); remove it from one of them"
            }
        }
        return nil
    }

    /// One (possibly partial) change laid over a cached row. A user who is not in a role group
    /// stays inactive whatever else changes; `@removed` deactivates.
    static func apply(_ change: GraphUser, to user: User, now: Double) -> User {
        var out = user
        let mail = (change.mail ?? nil).flatMap(Person.normalizedEmail)
        let upn = (change.userPrincipalName ?? nil).flatMap(Person.normalizedEmail)
        // The UPN is the address only when the change says mail is empty: a partial object that
        // carries just a new UPN leaves the mail (and the cached address) as they were.
        if let mail {
            out.email = mail
        } else if change.mail != nil, let upn {
            out.email = upn
        }
        if let name = (change.displayName ?? nil).map(Person.trimmed), !name.isEmpty { out.displayName = name }
        if let raw = change.badge {
            out.badge = raw.flatMap { try? Person.normalizedBadge($0).get() } ?? nil
        }
        if change.removed {
            out.active = false
        } else if let enabled = change.accountEnabled ?? nil {
            out.active = enabled && user.role != nil
        }
        return out
    }
}
