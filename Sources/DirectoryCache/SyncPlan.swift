import FleetJSON

/// The knobs of the rules that guard the cache.
public struct SyncRules: Sendable, Equatable {
    /// A run that would deactivate more than this share of the source's active users is held for
    /// an admin to confirm (Entra's accidental-deletion threshold). 0.2 = 20 %.
    public var maxDeactivationShare: Double

    public init(maxDeactivationShare: Double = 0.2) {
        self.maxDeactivationShare = maxDeactivationShare
    }
}

/// What a sync would change, computed purely from the cache, a snapshot and the rules; the
/// store applies a ready plan in one transaction.
public struct SyncPlan: Sendable, Equatable {
    /// One row the run writes: its state before (nil for a new person) and after.
    public struct Change: Sendable, Equatable {
        public internal(set) var before: User?
        public internal(set) var after: User
    }

    /// Whether the plan may be applied.
    public enum Verdict: Sendable, Equatable {
        case ready
        /// Safe to apply only after an admin confirms (`force`).
        case held(reason: String)
        /// Must not be applied; nothing changes.
        case failed(reason: String)

        public var reason: String? {
            switch self {
            case .ready: nil
            case .held(let reason), .failed(let reason): reason
            }
        }
    }

    public internal(set) var source: String
    public internal(set) var verdict: Verdict
    /// Every row that changes, snapshot order first, then people the source no longer lists.
    public internal(set) var changes: [Change]
    /// Active users of this source before the run (the base of the deactivation share).
    public internal(set) var activeBefore: Int
    /// People in the snapshot.
    public internal(set) var seen: Int

    public var adds: [User] { changes.filter { $0.before == nil }.map(\.after) }
    public var deactivations: [Change] { changes.filter { $0.before?.active == true && !$0.after.active } }
    public var reactivations: [Change] { changes.filter { $0.before?.active == false && $0.after.active } }
    /// Role changes of people who are active after the run (a deactivation is not also a role change).
    public var roleChanges: [Change] {
        changes.filter { $0.before != nil && $0.after.active && $0.before?.role != $0.after.role }
    }
    public var badgeChanges: [Change] { changes.filter { $0.before != nil && $0.before?.badge != $0.after.badge } }

    /// Counts for the run record and the API: `{"seen","adds","deactivations",…}`.
    ///
    /// One pass that copies nothing: a plan of 100,000 changes is counted on the loop, and the
    /// filtered lists above would copy every change once per count.
    public var counts: JSON {
        var adds = 0, deactivations = 0, reactivations = 0, roleChanges = 0, badgeChanges = 0
        // Through the buffer, so each field is read in place instead of copying (and retaining)
        // two users per change.
        changes.withUnsafeBufferPointer { all in
            for i in all.indices {
                guard all[i].before != nil else {
                    adds += 1
                    continue
                }
                let wasActive = all[i].before!.active, isActive = all[i].after.active
                if wasActive && !isActive { deactivations += 1 }
                if !wasActive && isActive { reactivations += 1 }
                if isActive && all[i].before!.role != all[i].after.role { roleChanges += 1 }
                if all[i].before!.badge != all[i].after.badge { badgeChanges += 1 }
            }
        }
        return [
            "seen": JSON(seen),
            "active_before": JSON(activeBefore),
            "adds": JSON(adds),
            "deactivations": JSON(deactivations),
            "reactivations": JSON(reactivations),
            "role_changes": JSON(roleChanges),
            "badge_changes": JSON(badgeChanges),
            "changes": JSON(changes.count),
        ]
    }

    /// How many active users the plan deactivates, counted without copying.
    var deactivationCount: Int {
        changes.withUnsafeBufferPointer { all in
            var n = 0
            for i in all.indices where all[i].before?.active == true && !all[i].after.active { n += 1 }
            return n
        }
    }
}

extension SyncPlan {
    /// Plans a run of `snapshot` against `current` (every user in the cache, all sources).
    ///
    /// The rules, in order: an incomplete read fails; an empty answer fails (it never wipes the
    /// cache); a snapshot without an active Admin fails; a snapshot that contradicts itself or
    /// another source fails; a run that would deactivate more than `maxDeactivationShare` of the
    /// source's active users is held unless `force`. `now` stamps `updatedAt`/`deactivatedAt`.
    public static func make(
        current: [User], snapshot: DirectorySnapshot, rules: SyncRules = SyncRules(), now: Double,
        force: Bool = false
    ) -> SyncPlan {
        let builder = PlanBuilder(current: current, snapshot: snapshot, rules: rules, now: now, force: force)
        while !builder.step(limit: .max) {}
        return builder.plan
    }
}

/// ``SyncPlan/make(current:snapshot:rules:now:force:)`` in resumable steps: a sync of 100,000
/// people plans a slice per loop pass instead of stalling the loop for the whole list.
final class PlanBuilder {
    private var planner: Planner
    private let rules: SyncRules
    private let force: Bool
    private(set) var plan: SyncPlan
    private var next = 0
    private var listing = 0
    private var leftovers = 0
    private var state = Planner.State()
    private var finished = false

    init(current: [User], snapshot: DirectorySnapshot, rules: SyncRules, now: Double, force: Bool) {
        planner = Planner(snapshot: snapshot, now: now)
        self.current = current
        self.rules = rules
        self.force = force
        plan = SyncPlan(source: snapshot.source, verdict: .ready, changes: [], activeBefore: 0,
            seen: snapshot.people.count)
        if let reason = planner.refusal() {
            plan.verdict = .failed(reason: reason)
            finished = true
        } else {
            planner.reserve(current: current.count)
        }
    }

    /// The cache as it was when planning started; indexed a step at a time, then dropped.
    private var current: [User]
    private var indexed = 0
    private var indexingDone = false

    /// Plans up to `limit` more people; true when the plan is complete.
    func step(limit: Int) -> Bool {
        guard !finished else { return true }
        if !indexingDone {
            let end = limit >= current.count - indexed ? current.count : indexed + limit
            while indexed < end {
                planner.index(current[indexed])
                indexed += 1
            }
            guard indexed == current.count else { return false }
            indexingDone = true
            current = []
            var active = 0
            for user in planner.currentOrder where user.active { active += 1 }
            plan.activeBefore = active
            state.reserve(planner.snapshot.people.count, matching: planner.needsListing)
            if planner.needsListing { planner.listedExternalIDs.reserveCapacity(planner.snapshot.people.count) }
            return false
        }
        let people = planner.snapshot.people
        // First the external ids the snapshot lists (for the email fallback), as many per step.
        if listing < people.count && planner.needsListing {
            let end = limit >= people.count - listing ? people.count : listing + limit
            while listing < end {
                planner.listedExternalIDs.insert(people[listing].externalID)
                listing += 1
            }
            return false
        }
        let end = limit >= people.count - next ? people.count : next + limit
        while next < end {
            if let conflict = planner.take(people[next], into: &state) {
                plan.verdict = .failed(reason: conflict.reason)
                finished = true
                return true
            }
            next += 1
        }
        guard next == people.count else { return false }
        planner.leftovers(into: &state)
        plan.changes = state.changes
        state.changes = []
        // The sets stay until ``release()``: freeing 100,000 names in each at once is ~10 ms.
        finished = true
        let deactivated = plan.deactivationCount
        let activeBefore = plan.activeBefore
        // The epsilon keeps "exactly at the limit" applying when the product rounds down (0.29 × 100).
        let allowed = rules.maxDeactivationShare * Double(activeBefore) + 1e-9
        if !force, activeBefore > 0, Double(deactivated) > allowed {
            let share = Int((Double(deactivated) * 100 / Double(activeBefore)).rounded())
            let limit = Int((rules.maxDeactivationShare * 100).rounded())
            plan.verdict = .held(reason:
                "\(planner.snapshot.origin) would deactivate \(deactivated) of \(activeBefore) active users (\(share) %), above the \(limit) % limit; check the source, then confirm with `sync apply --force`")
        }
        return true
    }
}

extension PlanBuilder {
    /// Frees one of planning's large tables; true when nothing is left. Call once per loop pass
    /// after the plan is complete.
    func release() -> Bool {
        if !state.seenEmail.isEmpty { state.seenEmail = [] } else if !state.seenExternal.isEmpty {
            state.seenExternal = []
        } else if !state.seenBadge.isEmpty { state.seenBadge = [] } else if !state.claimedBadges.isEmpty {
            state.claimedBadges = []
        } else if !state.matched.isEmpty { state.matched = [] } else if !planner.listedExternalIDs.isEmpty {
            planner.listedExternalIDs = []
        } else {
            return true
        }
        return false
    }
}

@available(*, unavailable) extension PlanBuilder: Sendable {}

/// A snapshot that cannot be applied as it stands.
struct Conflict: Error {
    var reason: String
}

/// The matching work behind ``SyncPlan/make(current:snapshot:rules:now:force:)``.
struct Planner {
    let snapshot: DirectorySnapshot
    let now: Double
    /// This source's users by external id.
    private(set) var ownUsers: [String: User] = [:]
    private(set) var ownByEmail: [String: User] = [:]
    /// Other sources' users, which this run must not collide with.
    private(set) var foreignByEmail: [String: User] = [:]
    private(set) var foreignByBadge: [String: User] = [:]
    private(set) var currentOrder: [User] = []
    /// External ids the snapshot lists, for the email fallback match; filled by ``PlanBuilder``
    /// in steps before planning starts (only when ``needsListing``).
    var listedExternalIDs: Set<String> = []
    /// The email fallback can only match when this source already has people.
    var needsListing: Bool { !ownUsers.isEmpty }

    /// A planner that knows no current users yet; ``index(_:)`` each one, in cache order.
    init(snapshot: DirectorySnapshot, now: Double) {
        self.snapshot = snapshot
        self.now = now
    }

    /// Room for `count` current users, so indexing never rehashes a large table in one step.
    mutating func reserve(current count: Int) {
        ownUsers.reserveCapacity(count)
        ownByEmail.reserveCapacity(count)
        currentOrder.reserveCapacity(count)
    }

    /// Adds one user of the cache (any source).
    mutating func index(_ user: User) {
        if user.source == snapshot.source {
            ownUsers[user.externalID] = user
            ownByEmail[user.email] = user
            currentOrder.append(user)
        } else {
            foreignByEmail[user.email] = user
            if let badge = user.badge { foreignByBadge[badge] = user }
        }
    }

    /// The reason the snapshot as a whole must not apply, if any.
    func refusal() -> String? {
        if !snapshot.isComplete {
            return "\(snapshot.origin) was not read completely; nothing changed, the next run retries"
        }
        if snapshot.people.isEmpty {
            return "\(snapshot.origin) lists nobody; an empty answer never wipes the cache, nothing changed"
        }
        if !snapshot.people.contains(where: { $0.role == .admin && $0.active }) {
            return "no active Admin in \(snapshot.origin): \(snapshot.adminRemedy)"
        }
        return nil
    }

    /// What planning has gathered so far.
    struct State {
        var changes: [SyncPlan.Change] = []
        var matched: Set<String> = []
        var seenExternal: Set<String> = []
        var seenEmail: Set<String> = []
        var seenBadge: Set<String> = []
        var claimedBadges: Set<String> = []

        /// Room for `people` up front: a set of 65,536 names growing to 131,072 rehashes every
        /// name in one go, and all of these would grow in the same step.
        mutating func reserve(_ people: Int, matching: Bool) {
            changes.reserveCapacity(people)
            seenExternal.reserveCapacity(people)
            seenEmail.reserveCapacity(people)
            seenBadge.reserveCapacity(people)
            claimedBadges.reserveCapacity(people)
            if matching { matched.reserveCapacity(people) }
        }
    }

    /// Plans one person of the snapshot; the conflict that fails the run, if any.
    func take(_ person: Person, into s: inout State) -> Conflict? {
        guard s.seenExternal.insert(person.externalID).inserted, s.seenEmail.insert(person.email).inserted else {
            return Conflict(reason: "\(snapshot.origin) lists \(person.email) twice; each person must appear once")
        }
        if let badge = person.badge {
            guard s.seenBadge.insert(badge).inserted else {
                return Conflict(reason: "\(snapshot.origin) gives badge \(badge) to two people; a badge opens for one person only")
            }
            if let holder = foreignByBadge[badge] {
                return Conflict(reason: "badge \(badge) of \(person.email) already belongs to \(holder.email) from source \(holder.source); remove it from one source")
            }
            s.claimedBadges.insert(badge)
        }
        if let other = foreignByEmail[person.email] {
            return Conflict(reason: "\(person.email) already comes from source \(other.source); linking people across sources is not supported yet, list them in one source")
        }
        // Match by the source's key; fall back to the email so a re-created upstream account
        // keeps its row, its overrides and its audit history.
        var before = ownUsers[person.externalID]
        if before == nil, let byEmail = ownByEmail[person.email],
            !listedExternalIDs.contains(byEmail.externalID), !s.matched.contains(byEmail.id)
        {
            before = byEmail
        }
        if let before { s.matched.insert(before.id) }
        let after = user(for: person, before: before)
        if after != before { s.changes.append(SyncPlan.Change(before: before, after: after)) }
        return nil
    }

    /// People the source no longer lists become inactive; a badge now given to someone else is
    /// taken off them so the badge opens for its new holder only.
    func leftovers(into s: inout State) {
        for user in currentOrder where !s.matched.contains(user.id) {
            var after = user
            if after.active {
                after.active = false
                after.deactivatedAt = now
            }
            if let badge = after.badge, s.claimedBadges.contains(badge) { after.badge = nil }
            if after != user {
                after.updatedAt = now
                s.changes.append(SyncPlan.Change(before: user, after: after))
            }
        }
    }

    /// The row a person should have; `before`'s timestamps survive when nothing changes.
    private func user(for person: Person, before: User?) -> User {
        let active = person.active && person.role != nil
        var user = User(
            id: before?.id ?? User.stableID(source: snapshot.source, externalID: person.externalID),
            externalID: person.externalID, email: person.email, displayName: person.displayName,
            role: person.role, active: active, hidden: person.role == .hiddenUser, badge: person.badge,
            source: snapshot.source, updatedAt: before?.updatedAt ?? now,
            deactivatedAt: active ? nil : (before.flatMap { $0.active ? nil : $0.deactivatedAt } ?? now))
        if let before, user != before { user.updatedAt = now }
        return user
    }
}
