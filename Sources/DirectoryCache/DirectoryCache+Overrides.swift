import FleetJSON
import FleetLoop
import Logging

/// Local decisions an admin makes on the box, effective at once and offline, audited, and
/// surviving syncs until they expire: block a lost badge, let someone in for a while, lift both,
/// delete a person now.
extension DirectoryCache {
    /// Denies every credential of the user until `until` (or until restored).
    @discardableResult
    public func block(userIDOrEmail: String, until: Double? = nil, note: String? = nil) throws(DirectoryError) -> Override {
        try addAudited(.block, userIDOrEmail, until: until, note: note)
    }

    /// Lets the user in even if the directory says inactive, until `until` (required: a
    /// temporary pass must end on its own).
    @discardableResult
    public func allow(userIDOrEmail: String, until: Double, note: String? = nil) throws(DirectoryError) -> Override {
        guard until > clock.unixTime else {
            throw DirectoryError(.invalidValue, reason: "until must be in the future")
        }
        return try addAudited(.allow, userIDOrEmail, until: until, note: note)
    }

    /// Removes the user's local overrides: the directory decides again. Returns how many went.
    @discardableResult
    public func restore(userIDOrEmail: String) throws(DirectoryError) -> Int {
        let user = try person(userIDOrEmail)
        let removed = try store.removeOverrides(userID: user.id)
        try audit("restore", user.id, "removed \(removed) override(s)")
        return removed
    }

    /// Deletes an inactive person now (retention would later). Active people are refused: the
    /// next sync would bring them back; block them instead.
    public func purge(userIDOrEmail: String) throws(DirectoryError) {
        let user = try person(userIDOrEmail)
        guard !user.active else {
            throw DirectoryError(.conflict, reason: "\(user.email) is active in source \(user.source); the next sync would bring them back. Block them, or remove them upstream first")
        }
        try refuseWhileStaging()
        try store.deleteUser(id: user.id)
        try audit("purge", user.id, user.email)
    }

    /// Every override of a person, expired ones included.
    public func overrides(userIDOrEmail: String) throws(DirectoryError) -> [Override] {
        try store.overrides(userID: try person(userIDOrEmail).id)
    }

    /// One retention slice: up to `slice` people inactive for longer than `inactiveRetention`
    /// and up to `slice` audit rows older than `auditRetention` are deleted, expired overrides
    /// too. `more` says another slice is due (the loop runs it on a later tick).
    public func sweepSlice(inactiveRetention: Double, auditRetention: Double, slice: Int = 500) throws(DirectoryError) -> (users: Int, audit: Int, more: Bool) {
        let now = clock.unixTime
        let users = isStaging ? 0 : try store.purgeInactive(before: now - inactiveRetention, now: now, limit: slice)
        let audit = try store.purgeAudit(before: now - auditRetention, limit: slice)
            + store.purgeDeliveredCheckins(before: now - auditRetention, limit: slice)
        _ = try store.purgeExpiredOverrides(now: now)
        if users > 0 { try self.audit("purge_inactive", nil, "\(users) people inactive for more than \(Int(inactiveRetention / 86_400)) days") }
        return (users, audit, users == slice || audit >= slice)
    }

    private func person(_ idOrEmail: String) throws(DirectoryError) -> User {
        if let user = try store.user(id: Person.trimmed(idOrEmail)) { return user }
        if let user = try store.user(email: idOrEmail) { return user }
        throw DirectoryError(.notFound, reason: "no user with id or email \(idOrEmail)")
    }

    private func addAudited(_ kind: Override.Kind, _ idOrEmail: String, until: Double?, note: String?) throws(DirectoryError) -> Override {
        let user = try person(idOrEmail)
        let override = try addOverride(kind, userID: user.id, until: until, note: note)
        var detail = until.map { "until \(Int($0))" } ?? "until restored"
        if let note { detail += "; \(note)" }
        try audit(kind.rawValue, user.id, detail)
        logger.notice("directory override added", metadata: ["user": "\(user.id)", "kind": "\(kind.rawValue)", "detail": "\(detail)"])
        return override
    }

    private func audit(_ action: String, _ userID: String?, _ detail: String) throws(DirectoryError) {
        try store.appendAdminAudit(AdminAuditEntry(ts: clock.unixTime, action: action, userID: userID, detail: detail))
    }
}

/// Runs retention on the loop: a slice at start and every `every`, further slices on later ticks
/// until nothing is left, so a big purge never stalls doors.
public final class RetentionSweeper {
    let cache: DirectoryCache
    let reactor: Reactor
    public var inactiveRetention: Duration
    public var auditRetention: Duration
    let slice: Int
    private var timer: TimerID?
    private var sweeping = false
    public private(set) var purgedUsers = 0
    public private(set) var purgedAudit = 0
    public private(set) var slices = 0

    public init(cache: DirectoryCache, reactor: Reactor, inactiveRetention: Duration, auditRetention: Duration,
                slice: Int = 500) {
        self.cache = cache
        self.reactor = reactor
        self.inactiveRetention = inactiveRetention
        self.auditRetention = auditRetention
        self.slice = slice
    }

    public func start(every: Duration = .seconds(3600)) {
        if let timer { reactor.cancel(timer) }
        sweep()
        timer = reactor.every(every) { [unowned self] in self.sweep() }
    }

    public func stop() {
        if let timer { reactor.cancel(timer) }
        timer = nil
    }

    /// Runs slices until done, one per tick.
    public func sweep() {
        guard !sweeping else { return }
        sweeping = true
        runSlice()
    }

    private func runSlice() {
        slices += 1
        do throws(DirectoryError) {
            let done = try cache.sweepSlice(inactiveRetention: inactiveRetention.seconds, auditRetention: auditRetention.seconds,
                                            slice: slice)
            purgedUsers += done.users
            purgedAudit += done.audit
            if done.more {
                reactor.nextTick { [unowned self] in self.runSlice() }
                return
            }
        } catch {
            cache.logger.error("directory retention failed; retrying at the next sweep", metadata: ["error": "\(error)"])
        }
        sweeping = false
    }
}

@available(*, unavailable) extension RetentionSweeper: Sendable {}

extension Reactor {
    /// Runs `body` on the next pass of the loop, never in this one: a timer scheduled from a timer
    /// would run in the same pass (the loop runs every due timer), which is what slicing must avoid.
    /// `gap` leaves the loop that much idle time first (for other requests) when it is not zero.
    func nextTick(
        after gap: Duration = .zero, file: StaticString = #fileID, line: UInt = #line, _ body: @escaping () -> Void
    ) {
        var hook: UInt64 = 0
        hook = onTickEnd(file: file, line: line) { [unowned self] in
            self.removeTickHook(hook)
            self.schedule(after: gap, file: file, line: line, body)
        }
    }
}
