import CFleetShims

/// Identifies an fd registration. The generation keeps events for a closed-and-reused fd from
/// reaching the new owner.
public struct RegistrationID: Hashable, Sendable {
    public let fd: CInt
    let generation: UInt32

    var userData: UInt64 { UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd)) }
}

/// The one event loop: epoll over every fd the daemon watches, a timer heap behind one timerfd,
/// a signalfd and an eventfd. Everything registered here runs on the thread that calls `run()`;
/// only `waker.wake()` may be called from elsewhere.
///
/// Each tick: wait for readiness (or the earliest deadline), dispatch fd handlers, run due timers,
/// re-arm the timerfd, then run the end-of-tick hooks (flush batches, update write interest).
public final class Reactor {
    public let clock: any Clock
    public private(set) var lag = LagStats()
    /// How long one tick's work took (dispatch + timers + hooks); a loop stall shows up here.
    public private(set) var tickDuration = LagStats()
    /// Callbacks that ran longer than `slowCallbacks.thresholdNanoseconds` (2 ms unless changed),
    /// by the call site that registered them: what made the loop late, named.
    public var slowCallbacks = SlowCallbacks()
    /// Called on the loop after each slow callback (to log it); nil by default.
    public var onSlowCallback: ((_ site: CallSite, _ took: Duration) -> Void)?

    struct Registration {
        var id: RegistrationID
        var interest: Interest
        var urgent: Bool
        var site: CallSite
        var handler: (Readiness) -> Void
    }

    private let epfd: CInt
    private let timerFD: CInt
    private let eventFD: CInt
    private var signalFD: CInt = -1
    private var signalHandlers: [CInt: () -> Void] = [:]
    private var wakeHandlers: [() -> Void] = []
    private var tickHooks: [(id: UInt64, site: CallSite, body: () -> Void)] = []
    private var nextHookID: UInt64 = 1
    private(set) var registrations: [CInt: Registration] = [:]
    private var nextGeneration: UInt32 = 1
    private var timers = TimerQueue()
    private var armedDeadline: Instant?
    private var stopRequested = false
    private var events: UnsafeMutablePointer<epoll_event>
    /// A handler may run the loop itself (a clean shutdown flushing the broker connection); such a
    /// nested tick gets its own event buffer so the outer tick's events stay intact.
    private var depth = 0
    /// Real time even under a manual clock: slowness is about the CPU, not the schedule.
    let realClock = SystemClock()
    /// Urgent fds (see `register(fd:interest:urgent:)`) are also in this epoll set, read-only, so
    /// the loop can ask between two callbacks whether one of them has input waiting.
    var urgentEpfd: CInt = -1
    var urgentEvents = UnsafeMutablePointer<epoll_event>.allocate(capacity: 8)
    var servingUrgent = false
    var lastUrgentPoll = Instant(nanoseconds: 0)
    /// How often, at most, the loop looks at urgent fds between callbacks: each look is one
    /// epoll_wait syscall, and a request waits at most this long behind a finished callback.
    public var urgentPollInterval: Duration = .microseconds(250)
    /// Times an urgent fd was served between callbacks instead of at the next epoll_wait.
    public internal(set) var urgentDispatches: UInt64 = 0
    private static let eventCapacity: CInt = 128

    // Our own fds use generation 0 in their user data, which no registration ever gets.
    private static let timerTag = UInt64(0)
    private var ownTags: [UInt64: CInt] = [:]

    public init(clock: any Clock = SystemClock()) throws(SystemError) {
        self.clock = clock
        // A write to a socket the peer closed must come back as EPIPE, not kill the process.
        // libmosquitto, libcurl and libmicrohttpd all handle the error code.
        cfs_ignore_sigpipe()
        epfd = try Epoll.create()
        timerFD = try TimerFD.create()
        eventFD = try EventFD.create()
        events = .allocate(capacity: Int(Self.eventCapacity))
        for fd in [timerFD, eventFD] {
            let tag = UInt64(UInt32(bitPattern: fd))
            ownTags[tag] = fd
            try Epoll.add(epfd, fd: fd, bits: UInt32(EPOLLIN.rawValue), data: tag)
        }
    }

    deinit {
        for fd in [epfd, timerFD, eventFD, signalFD, urgentEpfd] { closeFD(fd) }
        events.deallocate()
        urgentEvents.deallocate()
    }

    // MARK: - File descriptors

    /// Watches `fd` for `interest`; `handler` runs on the loop with what happened. The caller keeps
    /// ownership of the fd and must `deregister` before closing it.
    ///
    /// An `urgent` fd's input is also served between two callbacks of a tick (at most every
    /// `urgentPollInterval`), not only after the whole tick: a door's request must not wait behind
    /// a directory slice, a telemetry commit and a sensor read that happen to share its pass.
    @discardableResult
    public func register(
        fd: CInt, interest: Interest, urgent: Bool = false, file: StaticString = #fileID, line: UInt = #line,
        _ handler: @escaping (Readiness) -> Void
    ) throws(SystemError) -> RegistrationID {
        if let old = registrations[fd] { deregister(old.id) }
        nextGeneration = nextGeneration == UInt32.max ? 1 : nextGeneration + 1
        let id = RegistrationID(fd: fd, generation: nextGeneration)
        try Epoll.add(epfd, fd: fd, bits: interest.epollBits, data: id.userData)
        if urgent {
            do throws(SystemError) { try addUrgent(id) } catch { Epoll.remove(epfd, fd: fd); throw error }
        }
        registrations[fd] = Registration(id: id, interest: interest, urgent: urgent,
                                         site: CallSite(file: file, line: line), handler: handler)
        return id
    }

    /// Changes what a registration listens for; a no-op when nothing changes (saves a syscall per tick
    /// for clients that toggle write interest).
    public func modify(_ id: RegistrationID, interest: Interest) throws(SystemError) {
        guard var reg = registrations[id.fd], reg.id == id, reg.interest != interest else { return }
        try Epoll.modify(epfd, fd: id.fd, bits: interest.epollBits, data: id.userData)
        reg.interest = interest
        registrations[id.fd] = reg
    }

    public func interest(of id: RegistrationID) -> Interest? {
        guard let reg = registrations[id.fd], reg.id == id else { return nil }
        return reg.interest
    }

    public func deregister(_ id: RegistrationID) {
        guard let reg = registrations[id.fd], reg.id == id else { return }
        registrations[id.fd] = nil
        Epoll.remove(epfd, fd: id.fd)
        if reg.urgent { Epoll.remove(urgentEpfd, fd: id.fd) }
    }

    public var registrationCount: Int { registrations.count }

    // MARK: - Timers

    @discardableResult
    public func schedule(
        after delay: Duration, file: StaticString = #fileID, line: UInt = #line, _ body: @escaping () -> Void
    ) -> TimerID {
        schedule(at: clock.now + delay, file: file, line: line, body)
    }

    @discardableResult
    public func schedule(
        at deadline: Instant, file: StaticString = #fileID, line: UInt = #line, _ body: @escaping () -> Void
    ) -> TimerID {
        let id = timers.schedule(at: deadline, interval: nil, site: CallSite(file: file, line: line), body)
        armIfEarlier(deadline)
        return id
    }

    /// Runs `body` every `interval`, first after one interval.
    @discardableResult
    public func every(
        _ interval: Duration, file: StaticString = #fileID, line: UInt = #line, _ body: @escaping () -> Void
    ) -> TimerID {
        let deadline = clock.now + interval
        let id = timers.schedule(at: deadline, interval: interval, site: CallSite(file: file, line: line), body)
        armIfEarlier(deadline)
        return id
    }

    public func cancel(_ id: TimerID) { timers.cancel(id) }

    public var pendingTimers: Int { timers.count }

    private func armIfEarlier(_ deadline: Instant) {
        if let armed = armedDeadline, armed <= deadline { return }
        armedDeadline = deadline
        // A timerfd that cannot be armed leaves the loop deaf to time: that is not survivable.
        try! TimerFD.arm(timerFD, after: deadline.since(clock.now).nanosecondsClamped)
    }

    private func rearm() {
        guard let next = timers.earliest() else {
            if armedDeadline != nil { try! TimerFD.disarm(timerFD); armedDeadline = nil }
            return
        }
        if next != armedDeadline {
            armedDeadline = next
            try! TimerFD.arm(timerFD, after: next.since(clock.now).nanosecondsClamped)
        }
    }

    // MARK: - Signals and wakeups

    /// Handles `signal` on the loop instead of asynchronously. The signal is blocked for this thread
    /// (threads started later inherit the mask; child processes must reset it).
    public func onSignal(_ signal: CInt, _ handler: @escaping () -> Void) throws(SystemError) {
        signalHandlers[signal] = handler
        let fresh = signalFD < 0
        signalFD = try SignalFD.update(signalFD, signals: Set(signalHandlers.keys))
        if fresh {
            let tag = UInt64(UInt32(bitPattern: signalFD))
            ownTags[tag] = signalFD
            try Epoll.add(epfd, fd: signalFD, bits: UInt32(EPOLLIN.rawValue), data: tag)
        }
    }

    /// A handle other threads may use to wake the loop; `onWake` handlers then run on the loop.
    public var waker: Waker { Waker(fd: eventFD) }

    public func onWake(_ handler: @escaping () -> Void) { wakeHandlers.append(handler) }

    /// Runs `body` at the end of every tick, after fd handlers and timers: the place to flush a batch
    /// gathered during the tick or to update write interest after handlers queued output.
    @discardableResult
    public func onTickEnd(file: StaticString = #fileID, line: UInt = #line, _ body: @escaping () -> Void) -> UInt64 {
        let id = nextHookID
        nextHookID += 1
        tickHooks.append((id, CallSite(file: file, line: line), body))
        return id
    }

    public func removeTickHook(_ id: UInt64) { tickHooks.removeAll { $0.id == id } }

    // MARK: - Running

    /// Runs until `stop()` is called from a handler.
    public func run() throws(SystemError) {
        stopRequested = false
        while !stopRequested { try tick(timeoutMS: -1) }
    }

    public func stop() { stopRequested = true }
    public var isStopping: Bool { stopRequested }

    /// Runs ticks until `condition` holds or `limit` of real time passes; returns whether it held.
    /// For tests and one-shot CLI work: waiting is event-driven, never a sleep.
    @discardableResult
    public func run(until condition: () -> Bool, limit: Duration = .seconds(10)) throws(SystemError) -> Bool {
        let real = SystemClock()
        let end = real.now + limit
        stopRequested = false
        while !condition() {
            let left = end.since(real.now)
            if left == .zero || stopRequested { return condition() }
            try tick(timeoutMS: CInt(min(max(left.milliseconds, 1), 50)))
        }
        return true
    }

    /// One pass: wait up to `timeoutMS` (-1 = until something happens, 0 = poll), dispatch, run
    /// timers, hooks.
    public func tick(timeoutMS: CInt) throws(SystemError) {
        // A timer that is already due (e.g. a manual clock moved) must not wait for the timerfd.
        var timeout = timeoutMS
        if let next = timers.earliest(), next <= clock.now { timeout = 0 }
        depth += 1
        defer { depth -= 1 }
        let buffer = depth == 1 ? events : UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(Self.eventCapacity))
        defer { if buffer != events { buffer.deallocate() } }
        let n = try Epoll.wait(epfd, events: buffer, capacity: Self.eventCapacity, timeoutMS: timeout)
        let started = realClock.now
        for i in 0..<n {
            let ev = buffer[i]
            let data = ev.data.u64
            if let own = ownTags[data] {
                handleOwn(fd: own)
                continue
            }
            let fd = CInt(bitPattern: UInt32(truncatingIfNeeded: data))
            guard let reg = registrations[fd], reg.id.userData == data else { continue }
            timed(reg.site) { reg.handler(Readiness(epollBits: ev.events)) }
        }
        runDueTimers()
        for hook in tickHooks { timed(hook.site, hook.body) }
        rearm()
        tickDuration.record(nanoseconds: realClock.now.since(started).nanosecondsClamped.magnitude)
    }


    /// Runs one callback and notes it when it was slow.
    func timed(_ site: CallSite, _ body: () -> Void) {
        let cpu = slowCallbacks.measuresCPU ? Self.threadCPUNanoseconds() : 0
        let begin = realClock.now
        body()
        let end = realClock.now
        let took = end.since(begin)
        let used = slowCallbacks.measuresCPU ? Self.threadCPUNanoseconds() &- cpu : 0
        if slowCallbacks.record(site.description, nanoseconds: took.nanosecondsClamped.magnitude, cpuNanoseconds: used) {
            onSlowCallback?(site, took)
        }
        if urgentEpfd >= 0 && !servingUrgent && end.since(lastUrgentPoll) >= urgentPollInterval {
            serveUrgent(now: end)
        }
    }

    /// CPU time this thread has used, in nanoseconds (user and system): set beside the wall
    /// clock, it tells work from waiting.
    public static func threadCPUNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    private func handleOwn(fd: CInt) {
        if fd == timerFD {
            TimerFD.drain(fd)
        } else if fd == eventFD {
            EventFD.drain(fd)
            for h in wakeHandlers { h() }
        } else if fd == signalFD {
            for s in SignalFD.drain(fd) { signalHandlers[s]?() }
        }
    }

    private func runDueTimers() {
        // Bound the work per tick so a burst of timers cannot starve fd handlers.
        var budget = 1024
        while budget > 0, let due = timers.popDue(now: clock.now) {
            budget -= 1
            lag.record(nanoseconds: clock.now.since(due.deadline).nanosecondsClamped.magnitude)
            timed(due.site, due.body)
        }
    }
}

@available(*, unavailable) extension Reactor: Sendable {}
