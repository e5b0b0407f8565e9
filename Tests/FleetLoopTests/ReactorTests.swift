import CFleetShims
import Testing
@testable import FleetLoop

@Suite struct ReactorTimerTests {
    @Test func timersFireInDeadlineOrderThenSchedulingOrder() throws {
        let clock = ManualClock()
        let loop = try Reactor(clock: clock)
        var fired: [String] = []
        loop.schedule(after: .milliseconds(30)) { fired.append("c") }
        loop.schedule(after: .milliseconds(10)) { fired.append("a") }
        loop.schedule(after: .milliseconds(20)) { fired.append("b1") }
        loop.schedule(after: .milliseconds(20)) { fired.append("b2") }
        try loop.tick(timeoutMS: 0)
        #expect(fired.isEmpty)
        clock.advance(by: .milliseconds(20))
        try loop.tick(timeoutMS: 0)
        #expect(fired == ["a", "b1", "b2"])
        clock.advance(by: .milliseconds(10))
        try loop.tick(timeoutMS: 0)
        #expect(fired == ["a", "b1", "b2", "c"])
        #expect(loop.pendingTimers == 0)
    }

    @Test func cancelledTimerNeverFires() throws {
        let clock = ManualClock()
        let loop = try Reactor(clock: clock)
        var fired = 0
        let id = loop.schedule(after: .seconds(1)) { fired += 1 }
        loop.cancel(id)
        clock.advance(by: .seconds(2))
        try loop.tick(timeoutMS: 0)
        #expect(fired == 0)
    }

    @Test func repeatingTimerKeepsItsCadence() throws {
        let clock = ManualClock()
        let loop = try Reactor(clock: clock)
        var fired = 0
        loop.every(.seconds(1)) { fired += 1 }
        for _ in 0..<5 {
            clock.advance(by: .seconds(1))
            try loop.tick(timeoutMS: 0)
        }
        #expect(fired == 5)
    }

    @Test func lagMeasuresHowLateATimerRan() throws {
        let clock = ManualClock()
        let loop = try Reactor(clock: clock)
        loop.schedule(after: .milliseconds(10)) {}
        clock.advance(by: .milliseconds(25))  // the loop "stalled" 15 ms past the deadline
        try loop.tick(timeoutMS: 0)
        #expect(loop.lag.count == 1)
        #expect(abs(loop.lag.maxMS - 15) < 0.001)
    }

    @Test func realTimerfdWakesABlockingWait() throws {
        let loop = try Reactor()
        var fired = false
        loop.schedule(after: .milliseconds(5)) { fired = true }
        let start = SystemClock().now
        // Blocks in epoll_wait with no timeout: only the timerfd can end it.
        try loop.tick(timeoutMS: -1)
        #expect(fired)
        #expect(SystemClock().now.since(start) >= .milliseconds(4))
    }
}

@Suite struct ReactorFDTests {
    private func socketPair() -> (CInt, CInt) {
        var fds: [CInt] = [0, 0]
        let rc = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds)
        precondition(rc == 0)
        return (fds[0], fds[1])
    }

    @Test func readinessIsDispatchedToTheRegisteredHandler() throws {
        let loop = try Reactor()
        let (a, b) = socketPair()
        defer { close(a); close(b) }
        var seen: Readiness = []
        var bytes: [UInt8] = []
        try loop.register(fd: a, interest: .read) { r in
            seen = r
            var buf = [UInt8](repeating: 0, count: 16)
            let n = read(a, &buf, 16)
            if n > 0 { bytes += buf[0..<n] }
        }
        _ = write(b, "hi", 2)
        #expect(try loop.run(until: { !bytes.isEmpty }, limit: .seconds(2)))
        #expect(seen.contains(.readable))
        #expect(bytes == Array("hi".utf8))
    }

    @Test func writeInterestCanBeToggled() throws {
        let loop = try Reactor()
        let (a, b) = socketPair()
        defer { close(a); close(b) }
        var writable = 0
        let id = try loop.register(fd: a, interest: .read) { r in if r.contains(.writable) { writable += 1 } }
        try loop.tick(timeoutMS: 0)
        #expect(writable == 0)
        try loop.modify(id, interest: .readWrite)
        try loop.tick(timeoutMS: 0)
        #expect(writable == 1)
        #expect(loop.interest(of: id) == .readWrite)
    }

    @Test func deregisteredFDIsSilentEvenWhenReusedInTheSameBatch() throws {
        let loop = try Reactor()
        let (a, b) = socketPair()
        defer { close(b) }
        var oldCalls = 0
        let id = try loop.register(fd: a, interest: .read) { _ in oldCalls += 1 }
        loop.deregister(id)
        close(a)
        _ = write(b, "x", 1)
        try loop.tick(timeoutMS: 0)
        #expect(oldCalls == 0)
        #expect(loop.registrationCount == 0)
    }

    @Test func hangupIsReported() throws {
        let loop = try Reactor()
        let (a, b) = socketPair()
        defer { close(a) }
        var seen: Readiness = []
        try loop.register(fd: a, interest: .read) { r in seen = r }
        close(b)
        #expect(try loop.run(until: { seen.contains(.hangup) }, limit: .seconds(2)))
    }

    @Test func wakerRunsHandlersOnTheLoop() throws {
        let loop = try Reactor()
        var woken = 0
        loop.onWake { woken += 1 }
        loop.waker.wake()
        loop.waker.wake()
        #expect(try loop.run(until: { woken > 0 }, limit: .seconds(2)))
        #expect(woken == 1)  // two wakes before the loop ran coalesce into one
    }

    @Test func signalArrivesAsAnEventOnTheLoop() throws {
        let loop = try Reactor()
        var got = false
        try loop.onSignal(SIGUSR1) { got = true }
        // Thread-directed: swift-testing runs suites on several threads, and only this one blocks SIGUSR1.
        pthread_kill(pthread_self(), SIGUSR1)
        #expect(try loop.run(until: { got }, limit: .seconds(2)))
    }

    @Test func tickHooksRunAfterHandlers() throws {
        let loop = try Reactor()
        var order: [String] = []
        loop.onTickEnd { order.append("hook") }
        loop.schedule(after: .zero) { order.append("timer") }
        try loop.tick(timeoutMS: 0)
        #expect(order == ["timer", "hook"])
    }
}

@Suite struct ReactorNestingTests {
    @Test func aHandlerRunningTheLoopDoesNotDisturbTheOuterTicksEvents() throws {
        let loop = try Reactor()
        var a: [CInt] = [0, 0], b: [CInt] = [0, 0]
        // Non-blocking, like every fd the daemon watches: after a nested loop an outer event may be
        // stale, and a handler then reads EAGAIN instead of blocking.
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &a)
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &b)
        defer { for fd in a + b { close(fd) } }
        var order: [String] = []
        var nestedDone = false
        // Both fds are readable in the same batch; the first handler runs a nested loop (as a clean
        // shutdown does). The other handler must still get its own readiness afterwards.
        try loop.register(fd: a[0], interest: .read) { _ in
            var byte: UInt8 = 0
            _ = read(a[0], &byte, 1)
            order.append("a")
            loop.schedule(after: .zero) { nestedDone = true }
            _ = try? loop.run(until: { nestedDone }, limit: .seconds(2))
        }
        try loop.register(fd: b[0], interest: .read) { r in
            var byte: UInt8 = 0
            if read(b[0], &byte, 1) == 1 { order.append(r.contains(.readable) ? "b" : "b-without-readiness") }
        }
        _ = write(a[1], "x", 1)
        _ = write(b[1], "y", 1)
        #expect(try loop.run(until: { order.count >= 2 }, limit: .seconds(2)))
        #expect(Set(order) == ["a", "b"])
        #expect(nestedDone)
    }
}
