import FleetLoop

/// Jobs done one slice per loop pass, in order, so that writing or reading 100,000 rows never holds
/// the loop. The first slice of a job queued while idle runs at once (a small job is then done);
/// later ones run `gap` apart. Without a loop (tools, tests) every slice runs at once.
///
/// The owner supplies the slice: `step` advances the first job and says whether it is done; a
/// thrown error ends that job after `failed` has seen it. Loop-bound.
final class SliceQueue<Job> {
    var loop: Reactor?
    var gap: Duration = .milliseconds(1)
    /// One slice of `job`; true when it is done.
    var step: (inout Job) throws(DirectoryError) -> Bool = { _ in true }
    /// A slice of `job` threw: it is dropped after this.
    var failed: (Job, DirectoryError) -> Void = { _, _ in }
    private var jobs: [Job] = []
    private var ticking = false

    var isEmpty: Bool { jobs.isEmpty }

    func enqueue(_ job: Job) {
        jobs.append(job)
        if jobs.count == 1 && !ticking { runSlice() }
        kick()
    }

    private func kick() {
        guard !jobs.isEmpty, !ticking else { return }
        guard let loop else {
            while !jobs.isEmpty { runSlice() }
            return
        }
        ticking = true
        loop.nextTick(after: gap) { [weak self] in
            guard let self else { return }
            ticking = false
            runSlice()
            kick()
        }
    }

    private func runSlice() {
        guard !jobs.isEmpty else { return }
        do throws(DirectoryError) {
            if try step(&jobs[0]) { jobs.removeFirst() }
        } catch {
            failed(jobs[0], error)
            jobs.removeFirst()
        }
    }
}

@available(*, unavailable) extension SliceQueue: Sendable {}
