@testable import DirectoryCache
import FleetLoop
import FleetStore
import FleetTestSupport
import Logging
import Testing

/// A cache on `directory.sqlite` driven a loop pass at a time by a manual clock, which can be
/// "crashed" (dropped without a clean stop) and started again on the same file.
private final class Bench {
    let dir = TemporaryDirectory("fc-interrupted")
    let clock = ManualClock(unixTime: 1_800_000_000)
    private(set) var reactor: Reactor
    private(set) var cache: DirectoryCache
    let source = ListSource("big", ListSource.crowd(3_000))

    init() throws {
        (reactor, cache) = try Self.open(dir, clock)
    }

    private static func open(_ dir: TemporaryDirectory, _ clock: ManualClock) throws -> (Reactor, DirectoryCache) {
        let reactor = try Reactor(clock: clock)
        let cache = DirectoryCache(store: try DirectoryStore(path: dir.file("directory.sqlite")), clock: clock,
                                   logger: Logger(label: "test.interrupted"), policy: AuthorizationPolicy())
        cache.loop = reactor
        cache.stagingThreshold = 1_000
        cache.sliceGap = .milliseconds(1)
        cache.heldRuns.sliceGap = .milliseconds(1)
        return (reactor, cache)
    }

    /// A crash: the objects go without `stop()`, the loop's pending slices with them. A clean stop
    /// first calls `stop()` and lets the loop run on a little, as the daemon's shutdown does.
    func restart(clean: Bool, resume: Bool = false) throws {
        if clean {
            cache.stop()
            for _ in 0..<5 { try pass() }
        }
        (reactor, cache) = try Self.open(dir, clock)
        cache.resumeConfirmations = resume
        cache.recoverAfterRestart()
    }

    /// One loop pass, a millisecond of (manual) time after the last.
    func pass() throws {
        clock.advance(by: .milliseconds(1))
        try reactor.tick(timeoutMS: 0)
    }

    /// Passes until `done`; false after `limit` passes.
    @discardableResult
    func drive(limit: Int = 50_000, until done: () throws -> Bool) throws -> Bool {
        for _ in 0..<limit {
            if try done() { return true }
            try pass()
        }
        return try done()
    }

    func sync() throws -> SyncRunResult {
        var result: SyncRunResult?
        cache.sync(source: source) { result = $0 }
        try drive { result != nil && cache.staging == nil }
        return try #require(result)
    }

    /// The first sync, then 1,500 of 3,000 disabled upstream: held, its answer saved whole.
    func heldRun() throws -> Int64 {
        #expect(try sync().status == .succeeded)
        for i in 1...1_500 { source.people[i].active = false }
        let held = try sync()
        #expect(held.status == .held)
        #expect(try drive { try cache.store.heldRowCount() == 3_001 })
        return try #require(held.run.id)
    }

    func confirm(_ id: Int64) throws -> Result<SyncRunResult, DirectoryError> {
        var outcome: Result<SyncRunResult, DirectoryError>?
        #expect(try cache.confirmHeld(runID: id) { outcome = $0 }?.status == .running)
        #expect(try drive { outcome != nil && cache.staging == nil })
        return try #require(outcome)
    }

    /// The live table as readers see it, without the times (which follow the manual clock).
    func live() throws -> [String] {
        try cache.store.db.query("""
            SELECT id, source, external_id, email, display_name, role, active, hidden, badge FROM users ORDER BY id
            """).map { $0.values.map { "\($0)" }.joined(separator: "|") }
    }

    func tables(_ pattern: String) throws -> [String] {
        try cache.store.db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB ?", [.text(pattern)])
            .compactMap { $0.text(0) }
    }
}

@Suite struct InterruptedConfirmationTests {
    /// What an uninterrupted confirmation leaves: the table every interrupted one must end with.
    static let uninterrupted: [String] = {
        let b = try! Bench()
        let id = try! b.heldRun()
        _ = try! b.confirm(id).get()
        return try! b.live()
    }()

    /// Stopped after `slices` slices of the staged apply (0: while the cache is still being read
    /// and planned), by a crash or a clean stop: the run is held again with its answer, the
    /// staging table goes, readers never saw a half-applied cache, and confirming again ends
    /// exactly where an uninterrupted confirmation does.
    @Test(arguments: [(0, false), (1, false), (4, true), (9, false)])
    func aConfirmationStoppedMidApplyIsHeldAgainAndConfirmsLikeAnUninterruptedOne(slices: Int, clean: Bool) throws {
        let b = try Bench()
        let id = try b.heldRun()
        let before = try b.live()
        let heldReason = try #require(try b.cache.store.run(id: id)?.reason)

        _ = try b.cache.confirmHeld(runID: id) { _ in Issue.record("the confirmation finished before the stop") }
        if slices > 0 {
            #expect(try b.drive { (b.cache.staging?.slices ?? 0) >= slices && b.cache.staging?.switched == false })
            #expect(try b.tables("users_next") == ["users_next"])
        }
        #expect(try b.live() == before)
        #expect(try b.cache.store.run(id: id)?.status == .running)

        try b.restart(clean: clean)
        #expect(try b.tables("users_next").isEmpty && b.tables("users_old_g*").isEmpty)
        #expect(try b.live() == before)
        let run = try #require(try b.cache.store.run(id: id))
        #expect(run.status == .held)
        #expect(run.reason?.hasPrefix(heldReason) == true, "\(run.reason ?? "")")
        #expect(run.reason?.contains("confirmation interrupted by a stop, nothing of it was applied") == true)
        #expect(try b.cache.store.heldRowCount() == 3_001)
        #expect(try b.drive { b.cache.confirmableRuns == [id] })

        let applied = try b.confirm(id).get()
        #expect(applied.status == .succeeded)
        #expect(applied.reason?.hasPrefix("confirmed by an admin after being held") == true)
        #expect(try b.live() == Self.uninterrupted)
        #expect(try b.cache.store.activeCount(source: "big") == 1_501)
        #expect(try b.drive { try b.cache.store.heldRowCount() == 0 })
    }

    @Test func aSecondInterruptionAddsTheNoteOnce() throws {
        let b = try Bench()
        let id = try b.heldRun()
        for _ in 0..<2 {
            try b.drive { b.cache.confirmableRuns == [id] }
            _ = try b.cache.confirmHeld(runID: id) { _ in Issue.record("finished before the stop") }
            #expect(try b.drive { (b.cache.staging?.slices ?? 0) >= 2 })
            try b.restart(clean: false)
        }
        let reason = try #require(try b.cache.store.run(id: id)?.reason)
        #expect(reason.ranges(of: "confirmation interrupted by a stop").count == 1, "\(reason)")
        #expect(try b.drive { b.cache.confirmableRuns == [id] })
        #expect(try b.confirm(id).get().status == .succeeded)
        #expect(try b.live() == Self.uninterrupted)
    }

    /// The switch and the run's outcome commit together: a crash right after it leaves the run
    /// succeeded, not held again over an answer that is already live.
    @Test func aCrashRightAfterTheSwitchKeepsTheConfirmationApplied() throws {
        let b = try Bench()
        let id = try b.heldRun()
        _ = try b.cache.confirmHeld(runID: id) { _ in }
        #expect(try b.drive { b.cache.staging?.switched == true })
        try b.restart(clean: false)
        #expect(try b.tables("users_old_g*").isEmpty)
        let run = try #require(try b.cache.store.run(id: id))
        #expect(run.status == .succeeded && run.reason?.hasPrefix("confirmed by an admin after being held") == true)
        #expect(try b.live() == Self.uninterrupted)
        #expect(try b.drive { try b.cache.store.heldRowCount() == 0 })
        #expect(b.cache.confirmableRuns.isEmpty)
    }

    /// With `resume_confirmations`, the start confirms it again once its answer is read back, and
    /// the run says it resumed.
    @Test(arguments: [false, true])
    func aConfirmationCutShortResumesAtStartWhenAsked(clean: Bool) throws {
        let b = try Bench()
        let id = try b.heldRun()
        _ = try b.cache.confirmHeld(runID: id) { _ in Issue.record("finished before the stop") }
        #expect(try b.drive { (b.cache.staging?.slices ?? 0) >= 3 && b.cache.staging?.switched == false })
        try b.restart(clean: clean, resume: true)
        #expect(try b.cache.store.run(id: id)?.status == .held)
        #expect(try b.drive { try b.cache.store.run(id: id)?.status == .succeeded && b.cache.staging == nil })
        let reason = try #require(try b.cache.store.run(id: id)?.reason)
        #expect(reason.hasPrefix("confirmed by an admin after being held"), "\(reason)")
        #expect(reason.hasSuffix("confirmation interrupted by a stop, nothing of it was applied; resumed at start"), "\(reason)")
        #expect(try b.live() == Self.uninterrupted)
        #expect(try b.drive { try b.cache.store.heldRowCount() == 0 })
    }

    /// The writes made at the switch share its transaction: when they fail, the switch is undone.
    @Test func theSwitchAndTheRunOutcomeCommitTogether() throws {
        let b = try Bench()
        #expect(try b.sync().status == .succeeded)
        let before = try b.live()
        for i in 1...1_500 { b.source.people[i].active = false }
        let plan = try b.cache.plan(DirectorySnapshot(source: "big", origin: "big", people: b.source.people), force: true)
        let job = StagedApply(store: b.cache.store, plan: plan, now: b.clock.unixTime, meta: [])
        job.atSwitch = { () throws(DirectoryError) in throw DirectoryError(.store, reason: "disk full") }
        var failure: DirectoryError?
        while failure == nil && !job.isDone {
            do throws(DirectoryError) { try job.step() } catch { failure = error }
        }
        #expect(failure?.description.contains("disk full") == true)
        #expect(!job.switched)
        #expect(try b.live() == before)
    }

    /// A confirmation made while the held answer was still being saved has nothing whole to hold
    /// again after a crash: it fails, saying what to do, and the cache is unchanged.
    @Test func aConfirmationBeforeTheAnswerWasSavedFailsAndChangesNothing() throws {
        let b = try Bench()
        #expect(try b.sync().status == .succeeded)
        for i in 1...1_500 { b.source.people[i].active = false }
        var held: SyncRunResult?
        b.cache.sync(source: b.source) { held = $0 }
        try b.drive { held != nil }
        let id = try #require(held?.run.id)
        #expect(try b.cache.store.heldRowCount() < 3_001)
        let before = try b.live()
        _ = try b.cache.confirmHeld(runID: id) { _ in Issue.record("finished before the stop") }
        try b.restart(clean: false)
        let run = try #require(try b.cache.store.run(id: id))
        #expect(run.status == .failed && run.reason?.contains("before the held answer was saved") == true, "\(run.reason ?? "")")
        #expect(try b.live() == before)
        #expect(try b.drive { try b.cache.store.heldRowCount() == 0 })
        #expect(b.cache.confirmableRuns.isEmpty)
    }

    /// An ordinary sync cut short mid-apply held nothing: it is recorded failed, as before.
    @Test func anOrdinarySyncStoppedMidApplyIsRecordedFailed() throws {
        let b = try Bench()
        #expect(try b.sync().status == .succeeded)
        let before = try b.live()
        b.source.people += (0..<2_000).map {
            Person(externalID: "n\($0)", email: "n\($0)@example.com", displayName: "New \($0)", role: .user,
                   badge: "N-\($0)", active: true)
        }
        let started = b.cache.sync(source: b.source) { _ in Issue.record("finished before the stop") }
        #expect(try b.drive { (b.cache.staging?.slices ?? 0) >= 3 && b.cache.staging?.switched == false })
        try b.restart(clean: true)
        let runID = try #require(started.id)
        let run = try #require(try b.cache.store.run(id: runID))
        #expect(run.status == .failed && run.reason?.contains("the next run reads the source again") == true)
        #expect(try b.tables("users_next").isEmpty)
        #expect(try b.live() == before)
        #expect(b.cache.confirmableRuns.isEmpty)
    }
}
