import CFleetShims

/// Urgent fds: input that must not wait for the rest of a busy tick.
///
/// A tick runs every ready handler, the due timers and the end-of-tick hooks in turn. While a
/// directory sync applies and sensors flood in, one pass holds an apply slice, a sensor read and a
/// telemetry commit, a few milliseconds together; a door's request that arrived at its start used
/// to wait for all of it. An urgent fd sits in a second, read-only epoll set that the loop polls
/// (timeout 0) after each callback, at most every `urgentPollInterval`, and its handler runs there.
/// Long work that can stop early (a slice of rows, a batch of packets) asks `hasUrgentInput`.
extension Reactor {
    func addUrgent(_ id: RegistrationID) throws(SystemError) {
        if urgentEpfd < 0 { urgentEpfd = try Epoll.create() }
        try Epoll.add(urgentEpfd, fd: id.fd, bits: UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue),
                      data: id.userData)
    }

    /// Whether an urgent fd has input waiting now (one epoll_wait with timeout 0, ~1 µs): for work
    /// that can end its slice early and let the loop serve a request first.
    public var hasUrgentInput: Bool {
        guard urgentEpfd >= 0 else { return false }
        var event = epoll_event()
        return epoll_wait(urgentEpfd, &event, 1, 0) > 0
    }

    /// Runs the handlers of urgent fds with input waiting. Not re-entered from those handlers,
    /// and never inside a nested tick's own dispatch of the same fd (the generation check drops
    /// an event for an fd that was closed and reused meanwhile).
    func serveUrgent(now: Instant) {
        lastUrgentPoll = now
        let n = epoll_wait(urgentEpfd, urgentEvents, 8, 0)
        guard n > 0 else { return }
        servingUrgent = true
        defer { servingUrgent = false }
        for i in 0..<Int(n) {
            let ev = urgentEvents[i]
            let fd = CInt(bitPattern: UInt32(truncatingIfNeeded: ev.data.u64))
            guard let reg = registrations[fd], reg.id.userData == ev.data.u64 else { continue }
            urgentDispatches += 1
            timed(reg.site) { reg.handler(Readiness(epollBits: ev.events)) }
        }
        lastUrgentPoll = realClock.now
    }
}
