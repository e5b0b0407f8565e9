import CFleetShims

/// The loop's own three descriptors: a timerfd for the earliest deadline, an eventfd for wakeups from
/// other threads, and a signalfd for the signals the daemon handles.
enum TimerFD {
    static func create() throws(SystemError) -> CInt {
        try syscall("timerfd_create") {
            timerfd_create(CLOCK_MONOTONIC, CInt(TFD_NONBLOCK) | CInt(TFD_CLOEXEC))
        }!
    }

    /// Arms a one-shot timer `delay` from now. A zero it_value would disarm it, so the minimum is 1 ns.
    static func arm(_ fd: CInt, after delayNS: Int64) throws(SystemError) {
        let ns = max(delayNS, 1)
        var spec = itimerspec()
        spec.it_value.tv_sec = Int(ns / 1_000_000_000)
        spec.it_value.tv_nsec = Int(ns % 1_000_000_000)
        _ = try syscall("timerfd_settime") { timerfd_settime(fd, 0, &spec, nil) }
    }

    static func disarm(_ fd: CInt) throws(SystemError) {
        var spec = itimerspec()
        _ = try syscall("timerfd_settime") { timerfd_settime(fd, 0, &spec, nil) }
    }

    /// Reads the expiry count; the timer may have fired more than once, or not at all (EAGAIN).
    static func drain(_ fd: CInt) {
        var count: UInt64 = 0
        _ = read(fd, &count, 8)
    }
}

enum EventFD {
    static func create() throws(SystemError) -> CInt {
        try syscall("eventfd") { eventfd(0, CInt(EFD_NONBLOCK) | CInt(EFD_CLOEXEC)) }!
    }

    static func signal(_ fd: CInt) {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    static func drain(_ fd: CInt) {
        var count: UInt64 = 0
        _ = read(fd, &count, 8)
    }
}

enum SignalFD {
    /// Blocks `signals` for this thread (so they queue on the fd instead of killing us) and returns an
    /// fd that reports them. Passing an existing fd updates its mask.
    static func update(_ fd: CInt, signals: Set<CInt>) throws(SystemError) -> CInt {
        var mask = sigset_t()
        sigemptyset(&mask)
        for s in signals { sigaddset(&mask, s) }
        let rc = pthread_sigmask(SIG_BLOCK, &mask, nil)
        if rc != 0 { throw SystemError(errno: rc, operation: "pthread_sigmask") }
        return try syscall("signalfd") { signalfd(fd, &mask, CInt(SFD_NONBLOCK) | CInt(SFD_CLOEXEC)) }!
    }

    /// Reads pending signal numbers until the fd is empty.
    static func drain(_ fd: CInt) -> [CInt] {
        var result: [CInt] = []
        var info = signalfd_siginfo()
        while read(fd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            result.append(CInt(info.ssi_signo))
        }
        return result
    }
}

/// Wakes the loop from another thread. The only part of FleetLoop that is safe off the loop thread.
public struct Waker: Sendable {
    let fd: CInt
    public func wake() { EventFD.signal(fd) }
}
