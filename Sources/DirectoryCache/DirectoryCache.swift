import FleetJSON
import FleetLoop
import Logging

/// The offline directory: syncs sources into `directory.sqlite` under the product's rules and
/// answers "may this credential do this here?" without the network.
///
/// Loop-bound: call it from the event loop only. Every call is a few short SQLite statements,
/// except a sync's apply, which is one transaction.
///
/// ```swift
/// let cache = DirectoryCache(store: try DirectoryStore(path: state + "/directory.sqlite"),
///                            clock: clock, logger: logger, policy: AuthorizationPolicy())
/// let run = cache.syncCSV(name: "badges", path: "/etc/fleet-controller/people.csv")
/// let decision = cache.authorize(credential: Credential(type: .badge, value: "0001234"),
///                                deviceID: "door-lobby", action: .checkin, devices: registry.context)
/// ```
public final class DirectoryCache {
    public let store: DirectoryStore
    /// The answers of held runs, until confirmed or replaced; kept in `directory.sqlite` too, so
    /// `sync apply ID` still works after a restart.
    let heldRuns: HeldRuns
    /// Sign-in names (UPNs) beside the cached addresses.
    let upnAliases: UPNAliases
    public var policy: AuthorizationPolicy
    public var rules: SyncRules
    /// Called after a check-in was stored (the outbox sends it).
    public var checkinStored: (() -> Void)?
    /// The loop large applies (and large held answers) are sliced on; without it they run in one
    /// go (tools, tests).
    public var loop: Reactor? {
        didSet {
            heldRuns.loop = loop
            upnAliases.loop = loop
        }
    }
    /// Plans with at least this many changes are staged in slices instead of one transaction.
    public var stagingThreshold = 5_000
    /// Idle time between two slices of a large apply, so requests queued meanwhile are served.
    public var sliceGap: Duration = .milliseconds(1)
    /// Loop time one slice of a large plan or apply aims to take.
    public var sliceBudget: Duration = .milliseconds(1)
    /// The large apply in progress; other writes to people wait for its switch.
    var staging: StagedApply?
    /// The run whose large apply is in progress (``applySlices(runID:)``).
    var stagingRun: Int64?
    /// A confirmation a stop cut short is confirmed again at start, once its answer is read back,
    /// instead of waiting held for the admin (`[directory] resume_confirmations`).
    public var resumeConfirmations = false
    /// Called with the run when a confirmation resumed at start ends (applied, or held again).
    public var confirmationResumed: ((SyncRun) -> Void)?
    /// Set by ``stop()``: a large apply takes no further slice (the next start settles its run).
    var stopping = false
    /// Decisions not yet in the audit table: on the loop they are written together every
    /// `auditFlushInterval` (one commit instead of one per door request).
    var pendingAudit: [AuditEntry] = []
    public var auditFlushInterval: Duration = .milliseconds(20)
    let clock: any Clock
    let logger: Logger

    public init(
        store: DirectoryStore, clock: any Clock, logger: Logger, policy: AuthorizationPolicy,
        rules: SyncRules = SyncRules()
    ) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.policy = policy
        self.rules = rules
        heldRuns = HeldRuns(store: store, logger: logger)
        upnAliases = UPNAliases(store: store, logger: logger)
    }

    /// Reads back the answers of runs held before a restart (large ones in slices on the loop),
    /// so they can be confirmed by id; call once after setting `loop`.
    public func restoreHeldRuns() { heldRuns.restore() }

    // MARK: - Sync

    /// Reads the CSV file at `path` as source `name`, plans against the cache and applies the plan
    /// when the rules allow; otherwise records the run as failed or held and changes nothing.
    /// `force` confirms a run held for too many deactivations.
    @discardableResult
    public func syncCSV(name: String, path: String, force: Bool = false) -> SyncRunResult {
        let run = beginRun(source: name)
        let read = Result { () throws(DirectoryError) in try CSVSource(name: name, path: path).readSnapshot() }
        return finishSync(run, read: read, force: force, detail: path)
    }

    /// Reads any source and runs the same rules; `completion` gets the recorded run (at once for
    /// file sources, later on the loop for network ones). Returns the run as started (`running`),
    /// so an API can name it before it ends.
    @discardableResult
    public func sync(
        source: any DirectorySource, force: Bool = false, completion: @escaping (SyncRunResult) -> Void = { _ in }
    ) -> SyncRun {
        let run = beginRun(source: source.name)
        source.read { [self] read in
            finishSyncStaged(run, read: read, force: force) { [self] result in
                // A large apply is switched in outside finishSync: it, too, ends stale held answers.
                heldRuns.record(result.run, holding: nil, delta: false)
                if result.run.status == .succeeded, result.run.counts["slices"] != nil, case .success(let snapshot) = read {
                    upnAliases.replace(with: snapshot)
                }
                completion(result)
            }
        }
        return run
    }

    /// Reads a source and plans against the cache without applying or recording anything
    /// (`sync plan`); the plan carries the verdict a real run would get.
    public func plan(source: any DirectorySource, completion: @escaping (Result<SyncPlan, DirectoryError>) -> Void) {
        source.read { [self] read in
            completion(read.flatMap { snapshot in Result { () throws(DirectoryError) in try plan(snapshot) } })
        }
    }

    /// What a run of `snapshot` would change, without applying it or recording a run (`sync plan`).
    public func plan(_ snapshot: DirectorySnapshot, force: Bool = false) throws(DirectoryError) -> SyncPlan {
        SyncPlan.make(current: try store.users(), snapshot: snapshot, rules: rules, now: clock.unixTime, force: force)
    }

    /// Records the run as `running` so the API shows a read in progress. A store error here is
    /// left for ``finishSync`` to hit and report again.
    func beginRun(source: String) -> SyncRun {
        var run = SyncRun(source: source, status: .running, startedAt: clock.unixTime)
        run.id = try? store.recordRun(run)
        return run
    }

    /// The source-agnostic tail of every sync: plan, apply or refuse, record the run, log once.
    func finishSync(
        _ started: SyncRun, read: Result<DirectorySnapshot, DirectoryError>, force: Bool, detail: String?,
        planned: SyncPlan? = nil
    ) -> SyncRunResult {
        var run = started
        var plan: SyncPlan?
        var failure: DirectoryError?
        var heldSnapshot: DirectorySnapshot?
        do throws(DirectoryError) {
            let snapshot = try read.get()
            let made: SyncPlan
            if let planned { made = planned } else { made = try self.plan(snapshot, force: force) }
            plan = made
            run.counts = made.counts
            try settle(&run, made) { () throws(DirectoryError) in
                try store.apply(made, at: clock.unixTime, meta: snapshot.deltaMeta)
            }
            if run.status == .held { heldSnapshot = snapshot }
        } catch {
            failure = error
            run.status = .failed
            run.reason = error.description
        }
        if record(&run) {
            heldRuns.record(run, holding: heldSnapshot.map(HeldAnswer.full), delta: false)
        }
        if run.status == .succeeded, case .success(let snapshot) = read { upnAliases.replace(with: snapshot) }
        log(run, detail: detail)
        return SyncRunResult(run: run, plan: plan, error: failure)
    }

    /// Applies a ready plan through `apply`, or notes on `run` why it was held or failed.
    func settle(_ run: inout SyncRun, _ plan: SyncPlan, apply: () throws(DirectoryError) -> Void) throws(DirectoryError) {
        switch plan.verdict {
        case .ready:
            try refuseWhileStaging()
            try apply()
            run.status = .succeeded
        case .held(let reason):
            run.status = .held
            run.reason = reason
        case .failed(let reason):
            run.status = .failed
            run.reason = reason
        }
    }

    /// Stamps the run's end and stores it; false (and logged) when it could not be stored.
    @discardableResult
    func record(_ run: inout SyncRun) -> Bool {
        run.finishedAt = clock.unixTime
        do throws(DirectoryError) {
            run.id = try store.recordRun(run)
            return true
        } catch {
            logger.error("directory sync run could not be recorded", metadata: ["source": "\(run.source)", "error": "\(error)"])
            return false
        }
    }

    func log(_ run: SyncRun, detail: String?) {
        var metadata: Logger.Metadata = [
            "source": "\(run.source)", "status": "\(run.status.rawValue)", "counts": "\(run.counts)",
        ]
        if let detail { metadata["path"] = "\(detail)" }
        if let reason = run.reason { metadata["reason"] = "\(reason)" }
        switch run.status {
        case .succeeded, .running: logger.info("directory sync applied", metadata: metadata)
        case .held: logger.warning("directory sync held for confirmation", metadata: metadata)
        case .failed: logger.warning("directory sync failed; cache unchanged", metadata: metadata)
        }
    }

    // MARK: - Authorization

    /// Decides offline whether `credential` may do `action` on device `deviceID` (looked up through
    /// `devices`; unknown → `device_not_allowed`), and writes the decision to the audit log with
    /// the credential hashed.
    ///
    /// A store error while looking the person up denies as `unknown_credential` (fail closed) and
    /// is logged; a failed audit write is logged but does not change the decision.
    public func authorize(
        credential: Credential, deviceID: String, action: Action, devices: (String) -> DeviceContext?
    ) -> Decision {
        let now = clock.unixTime
        var user: User?
        var overrides: [Override] = []
        do throws(DirectoryError) {
            user = try lookUp(credential)
            if let user { overrides = try store.overrides(userID: user.id) }
        } catch {
            logger.error("directory lookup failed; denying", metadata: ["error": "\(error)", "device": "\(deviceID)"])
            user = nil
        }
        let age = user.flatMap { try? sourceAge($0.source, now: now) } ?? cacheAge
        let decision = Authorizer.decide(
            credential: credential, device: devices(deviceID), action: action, user: user, overrides: overrides,
            cacheAge: age, policy: policy, now: now)
        let entry = AuditEntry(
            ts: now, deviceID: deviceID, credentialType: credential.type, credentialHash: store.credentialHash(credential),
            userID: user?.id, decision: decision.decision, reason: decision.reason)
        queueAudit(entry)
        return decision
    }

    private func lookUp(_ credential: Credential) throws(DirectoryError) -> User? {
        switch credential.type {
        case .badge: try store.user(badge: credential.value)
        case .email:
            if let user = try store.user(email: credential.value) { user } else { try store.user(upn: credential.value) }
        case .userID: try store.user(id: Person.trimmed(credential.value))
        }
    }

    // MARK: - People

    /// A user by id, or else by email (case-insensitive): `GET /api/v1/users/{id or email}`.
    public func user(idOrEmail: String) -> User? {
        do throws(DirectoryError) {
            if let user = try store.user(id: Person.trimmed(idOrEmail)) { return user }
            if let user = try store.user(email: idOrEmail) { return user }
            return try store.user(upn: idOrEmail)
        } catch {
            logger.error("directory lookup failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Colleagues for a panel's search box: active, never hidden, at most `limit` (≤ 100).
    public func search(prefix: String, limit: Int = 20) -> [User] {
        do throws(DirectoryError) {
            return try store.search(prefix: prefix, limit: limit)
        } catch {
            logger.error("directory search failed", metadata: ["error": "\(error)"])
            return []
        }
    }

    /// Blocks a user (a lost badge) or lets an inactive one in, until `until` or until removed.
    @discardableResult
    public func addOverride(
        _ kind: Override.Kind, userID: String, until: Double? = nil, note: String? = nil
    ) throws(DirectoryError) -> Override {
        var override = Override(userID: userID, kind: kind, until: until, createdAt: clock.unixTime, note: note)
        override.id = try store.addOverride(override)
        return override
    }

    // MARK: - Age

    /// Seconds since the last successful sync of the stalest source that ever synced, never
    /// negative; nil before the first successful sync. The stalest, because a source that stopped
    /// syncing is what makes cached answers wrong.
    public var cacheAge: Double? {
        guard let syncs = try? store.lastSuccessfulSyncs(), let oldest = syncs.values.min() else { return nil }
        return max(0, clock.unixTime - oldest)
    }

    private func sourceAge(_ source: String, now: Double) throws(DirectoryError) -> Double? {
        try store.lastSuccessfulSync(source: source).map { max(0, now - $0) }
    }
}

@available(*, unavailable) extension DirectoryCache: Sendable {}
