import FleetJSON
import FleetLoop
import FleetStore
import Logging

/// What a held run held back: a full answer (every person the source listed) or a delta round's
/// changes. Confirming plans it again against the cache as it is then.
enum HeldAnswer {
    case full(DirectorySnapshot)
    case delta(DirectoryChanges, SourceLabel)

    var source: String {
        switch self {
        case .full(let snapshot): snapshot.source
        case .delta(_, let label): label.name
        }
    }

    var isDelta: Bool {
        if case .delta = self { return true }
        return false
    }

    var count: Int {
        switch self {
        case .full(let snapshot): snapshot.people.count
        case .delta(let changes, _): changes.changes.count
        }
    }
}

/// A source as rules and reasons name it, without the source object (which a restart rebuilds).
public struct SourceLabel: Sendable, Equatable {
    public var name: String
    /// "m365 (Microsoft Graph)", "people.csv".
    public var origin: String
    /// How an operator gives this source an Admin.
    public var adminRemedy: String

    public init(name: String, origin: String, adminRemedy: String) {
        self.name = name
        self.origin = origin
        self.adminRemedy = adminRemedy
    }
}

/// The answers of held runs, in memory for a quick confirmation and in `directory.sqlite` so a
/// confirmation still works after a restart (`sync apply ID`).
///
/// Only the newest held answer of a source is kept: a newer held run replaces it, and a run that
/// applies (a full one, or for held deltas also a delta one) ends it. A failed run (an outage)
/// ends nothing, so an admin can still confirm what was held before the cloud went away.
/// 100,000 people are written, read back and deleted a slice of about `sliceBudget` per loop
/// pass, so a held run never stalls the loop; small answers are done at once.
final class HeldRuns {
    let store: DirectoryStore
    let logger: Logger
    var loop: Reactor? {
        get { slices.loop }
        set { slices.loop = newValue }
    }
    /// Rows per slice, adapted so a slice takes about `sliceBudget`.
    var sliceRows = 200
    var sliceBudget: Duration = .milliseconds(1)
    var sliceGap: Duration {
        get { slices.gap }
        set { slices.gap = newValue }
    }
    /// Answers that can be confirmed now, by run id.
    private(set) var answers: [Int64: HeldAnswer] = [:]
    /// Answers being read back after a restart: rows read so far, rows in all.
    private var loading: [Int64: (done: Int, total: Int)] = [:]
    /// Why an answer this process knew is no longer kept.
    private var ended: [Int64: String] = [:]
    /// Called once when the answer of a run is read back and can be confirmed (a confirmation a
    /// stop cut short, resumed at start); dropped with the answer.
    private var onReady: [Int64: () -> Void] = [:]
    private let slices = SliceQueue<Job>()
    /// The longest slice so far (tests and benchmarks check the loop was never held long).
    private(set) var longestSlice: Duration = .zero

    private enum Job {
        case write(Int64, from: Int)
        case drop(Int64)
        case load(Int64, Loaded)
    }

    /// A held answer being read back.
    final class Loaded {
        let header: DirectoryStore.HeldHeader
        var people: [Person] = []
        var changes: [GraphUser] = []
        var next = 0

        init(_ header: DirectoryStore.HeldHeader) { self.header = header }
    }

    enum Lookup {
        case ready(HeldAnswer)
        case loading(done: Int, total: Int)
        case gone(String)
    }

    init(store: DirectoryStore, logger: Logger) {
        self.store = store
        self.logger = logger
        slices.step = { [unowned self] job throws(DirectoryError) in try timedStep(&job) }
        slices.failed = { [unowned self] job, error in sliceFailed(job, error) }
    }

    /// What confirming run `id` can use.
    func lookup(_ id: Int64, source: String) -> Lookup {
        if let answer = answers[id] { return .ready(answer) }
        if let progress = loading[id] { return .loading(done: progress.done, total: progress.total) }
        if let why = ended[id] { return .gone(why) }
        if let other = try? store.heldHeaders().last(where: { $0.source == source && $0.runID != id && $0.state != "dropping" }) {
            return .gone("the held run \(other.runID) of \(source) is the one to confirm")
        }
        return .gone("a newer run of \(source) replaced it, or the daemon stopped before it was saved")
    }

    /// Notes how a run of `answer`'s source ended: a held run's answer is kept (replacing the
    /// source's earlier one); a run that applied ends the held answers it makes stale.
    func record(_ run: SyncRun, holding answer: HeldAnswer?, delta: Bool) {
        guard let id = run.id else { return }
        switch run.status {
        case .held:
            guard let answer else { return }
            // A delta round every few seconds reads the same held-back changes again: the first
            // held run stays the one to confirm, so an admin's `sync apply ID` does not race it.
            if case .delta(let new, _) = answer,
                let (same, _) = held(source: run.source).first(where: { old, _ in
                    if case .delta(let prior, _)? = answers[old] { prior.changes == new.changes } else { false }
                })
            {
                ended[id] = "it read the same changes as the held run \(same), which stays the one to confirm"
                var noted = run
                noted.reason = (run.reason ?? "") + "; the same changes as held run \(same): confirm that one"
                _ = try? store.recordRun(noted)
                return
            }
            for (old, _) in held(source: run.source) where old != id {
                drop(old, because: "the newer held run \(id) of \(run.source) replaced it; check and confirm that one")
            }
            hold(id, answer)
        case .succeeded:
            // A quiet delta round every few seconds must not end a held full answer.
            for (old, kind) in held(source: run.source) where !delta || kind == "delta" {
                drop(old, because: "run \(id) of \(run.source) applied a newer answer")
            }
        case .failed, .running:
            break
        }
    }

    /// Runs `body` once the answer of `id` is read back; never if it is dropped first.
    func whenReady(_ id: Int64, _ body: @escaping () -> Void) { onReady[id] = body }

    /// Confirmed: its rows go.
    func applied(_ id: Int64) { drop(id, because: "it was applied") }

    /// After a start: read back every held answer whose run is still held; clear the rest.
    func restore() {
        let headers: [DirectoryStore.HeldHeader]
        do throws(DirectoryError) { headers = try store.heldHeaders() } catch {
            return logger.error("held sync answers could not be read", metadata: ["error": "\(error)"])
        }
        var newest: [String: Int64] = [:]
        for header in headers where header.state == "held" { newest[header.source] = max(newest[header.source] ?? 0, header.runID) }
        for header in headers {
            let stillHeld = (try? store.run(id: header.runID))?.status == .held
            if header.state == "held", stillHeld, newest[header.source] == header.runID {
                loading[header.runID] = (0, header.rows)
                enqueue(.load(header.runID, Loaded(header)))
            } else {
                if header.state == "writing" {
                    ended[header.runID] = "the daemon stopped before its answer was saved"
                }
                enqueue(.drop(header.runID))
            }
        }
    }

    // MARK: - Keeping and dropping

    private func held(source: String) -> [(Int64, String)] {
        var out: [Int64: String] = [:]
        for (id, answer) in answers where answer.source == source { out[id] = answer.isDelta ? "delta" : "full" }
        for header in (try? store.heldHeaders()) ?? [] where header.source == source && header.state != "dropping" {
            out[header.runID] = header.kind
        }
        return out.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    private func hold(_ id: Int64, _ answer: HeldAnswer) {
        answers[id] = answer
        do throws(DirectoryError) {
            try store.beginHeld(id, answer)
            enqueue(.write(id, from: 0))
        } catch {
            logger.error("held sync answer not saved; it can be confirmed until the daemon restarts",
                         metadata: ["run": "\(id)", "error": "\(error)"])
        }
    }

    private func drop(_ id: Int64, because why: String) {
        answers[id] = nil
        onReady[id] = nil
        loading[id] = nil
        ended[id] = why
        do throws(DirectoryError) { try store.markHeldDropping(id) } catch {
            logger.error("held sync answer not marked for removal", metadata: ["run": "\(id)", "error": "\(error)"])
        }
        enqueue(.drop(id))
    }

    // MARK: - Slices

    private func enqueue(_ job: Job) { slices.enqueue(job) }

    /// One slice, sized so that slices take about `sliceBudget` whatever the disk and CPU: the
    /// next one is scaled by how far this one was from it.
    private func timedStep(_ job: inout Job) throws(DirectoryError) -> Bool {
        let clock = SystemClock()
        let started = clock.now
        defer {
            let elapsed = clock.now.since(started)
            longestSlice = max(longestSlice, elapsed)
            let scale = min(1.25, max(0.25, sliceBudget.seconds / max(elapsed.seconds, 1e-6)))
            sliceRows = min(max(Int(Double(sliceRows) * scale), 50), 5_000)
        }
        return try step(&job, limit: sliceRows)
    }

    private func sliceFailed(_ job: Job, _ error: DirectoryError) {
        logger.error("held sync answer slice failed", metadata: ["error": "\(error)"])
        if case .load(let id, _) = job {
            loading[id] = nil
            onReady[id] = nil
            ended[id] = "its saved answer could not be read (\(error.reason))"
        }
    }

    /// One slice of `job`; true when the job is done.
    private func step(_ job: inout Job, limit: Int) throws(DirectoryError) -> Bool {
        switch job {
        case .write(let id, let from):
            // Dropped meanwhile: its drop job removes what was written.
            guard let answer = answers[id] else { return true }
            let end = min(from + limit, answer.count)
            try store.writeHeld(id, answer, from..<end, complete: end == answer.count)
            job = .write(id, from: end)
            return end == answer.count
        case .drop(let id):
            return try store.dropHeldSlice(id, limit: limit)
        case .load(let id, let loaded):
            guard loading[id] != nil else { return true }
            let read = try store.readHeld(id, from: loaded.next, limit: limit, into: loaded)
            loaded.next += read
            loading[id] = (loaded.next, loaded.header.rows)
            guard read < limit || loaded.next >= loaded.header.rows else { return false }
            loading[id] = nil
            answers[id] = loaded.answer
            logger.info("held sync answer read back; it can be confirmed", metadata: [
                "run": "\(id)", "source": "\(loaded.header.source)", "rows": "\(loaded.next)",
            ])
            onReady.removeValue(forKey: id)?()
            return true
        }
    }
}

@available(*, unavailable) extension HeldRuns: Sendable {}

extension HeldRuns.Loaded {
    var answer: HeldAnswer {
        let h = header
        if h.kind == "delta" {
            let changes = DirectoryChanges(changes: self.changes, deltaLink: h.deltaLink ?? "", pages: 0)
            return .delta(changes, SourceLabel(name: h.source, origin: h.origin, adminRemedy: h.adminRemedy))
        }
        var snapshot = DirectorySnapshot(source: h.source, origin: h.origin, people: people, adminRemedy: h.adminRemedy)
        snapshot.deltaLink = h.deltaLink
        snapshot.groupPins = h.pins
        return .full(snapshot)
    }
}
