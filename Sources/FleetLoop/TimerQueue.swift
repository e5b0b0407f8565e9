/// Identifies a scheduled timer so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    let raw: UInt64
}

/// A min-heap of deadlines. Cancelled timers stay in the heap and are skipped when they surface,
/// which keeps cancel O(1); the heap is compacted if dead entries pile up.
struct TimerQueue {
    struct Entry {
        var deadline: Instant
        var id: TimerID
    }

    struct Timer {
        var deadline: Instant
        var interval: Duration?
        var site: CallSite
        var body: () -> Void
    }

    private var heap: [Entry] = []
    private(set) var timers: [TimerID: Timer] = [:]
    private var nextID: UInt64 = 1

    var isEmpty: Bool { timers.isEmpty }
    var count: Int { timers.count }

    mutating func schedule(
        at deadline: Instant, interval: Duration?, site: CallSite = CallSite(file: #fileID, line: #line),
        _ body: @escaping () -> Void
    ) -> TimerID {
        let id = TimerID(raw: nextID)
        nextID += 1
        timers[id] = Timer(deadline: deadline, interval: interval, site: site, body: body)
        push(Entry(deadline: deadline, id: id))
        return id
    }

    mutating func cancel(_ id: TimerID) {
        timers[id] = nil
        if heap.count > 64 && heap.count > timers.count * 4 { compact() }
    }

    /// The earliest live deadline.
    mutating func earliest() -> Instant? {
        while let top = heap.first {
            if let t = timers[top.id], t.deadline == top.deadline { return top.deadline }
            popTop()
        }
        return nil
    }

    /// Removes and returns the earliest timer if it is due at `now`. Repeating timers are re-armed
    /// from their previous deadline so that a late tick does not drift the schedule.
    mutating func popDue(now: Instant) -> (deadline: Instant, site: CallSite, body: () -> Void)? {
        guard let deadline = earliest(), deadline <= now, let top = heap.first, let timer = timers[top.id] else {
            return nil
        }
        popTop()
        if let interval = timer.interval {
            var next = timer.deadline + interval
            if next <= now { next = now + interval }
            timers[top.id]?.deadline = next
            push(Entry(deadline: next, id: top.id))
        } else {
            timers[top.id] = nil
        }
        return (deadline, timer.site, timer.body)
    }

    private mutating func compact() {
        heap = heap.filter { timers[$0.id]?.deadline == $0.deadline }
        var i = heap.count / 2
        while i > 0 { i -= 1; siftDown(i) }
    }

    private mutating func push(_ e: Entry) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if less(heap[i], heap[parent]) { heap.swapAt(i, parent); i = parent } else { break }
        }
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        if !heap.isEmpty { heap[0] = last; siftDown(0) }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && less(heap[l], heap[m]) { m = l }
            if r < heap.count && less(heap[r], heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }

    /// Ties break by scheduling order, so timers due at the same instant fire in the order they were set.
    private func less(_ a: Entry, _ b: Entry) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.id.raw < b.id.raw
    }
}
