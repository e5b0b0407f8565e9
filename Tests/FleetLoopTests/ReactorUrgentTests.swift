import CFleetShims
import Testing
@testable import FleetLoop

/// Urgent fds are served between two callbacks of one tick, not only at the next epoll_wait.
@Suite struct ReactorUrgentTests {
    private func socketPair() -> (CInt, CInt) {
        var fds: [CInt] = [0, 0]
        let rc = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds)
        precondition(rc == 0)
        return (fds[0], fds[1])
    }

    private func drain(_ fd: CInt) {
        var buf = [UInt8](repeating: 0, count: 64)
        while read(fd, &buf, 64) > 0 {}
    }

    /// A request arriving during the first callback of a tick runs before the tick's timers and
    /// hooks when its fd is urgent, and only in the next tick when it is not.
    @Test(arguments: [true, false])
    func inputArrivingMidTickIsServedBeforeTheRestOfTheTick(urgent: Bool) throws {
        let clock = ManualClock()
        let loop = try Reactor(clock: clock)
        loop.urgentPollInterval = .zero
        let (request, peer) = socketPair()
        let (bulk, bulkPeer) = socketPair()
        defer { for fd in [request, peer, bulk, bulkPeer] { close(fd) } }
        var order: [String] = []
        try loop.register(fd: request, interest: .read, urgent: urgent) { _ in
            self.drain(request)
            order.append("request")
        }
        try loop.register(fd: bulk, interest: .read) { _ in
            self.drain(bulk)
            order.append("bulk")
            _ = write(peer, "r", 1)  // the door asks while the bulk work runs
        }
        loop.schedule(after: .zero) { order.append("timer") }
        loop.onTickEnd { order.append("hook") }
        _ = write(bulkPeer, "b", 1)
        try loop.tick(timeoutMS: 0)
        if urgent {
            #expect(order == ["bulk", "request", "timer", "hook"])
            #expect(loop.urgentDispatches == 1)
        } else {
            #expect(order == ["bulk", "timer", "hook"])
            try loop.tick(timeoutMS: 0)
            #expect(order == ["bulk", "timer", "hook", "request", "hook"])
            #expect(loop.urgentDispatches == 0)
        }
    }

    @Test func hasUrgentInputTellsWaitingInputOfUrgentFDsOnly() throws {
        let loop = try Reactor()
        let (urgent, urgentPeer) = socketPair()
        let (plain, plainPeer) = socketPair()
        defer { for fd in [urgent, urgentPeer, plain, plainPeer] { close(fd) } }
        #expect(!loop.hasUrgentInput)  // no urgent fd at all
        try loop.register(fd: urgent, interest: .readWrite, urgent: true) { _ in }
        try loop.register(fd: plain, interest: .read) { _ in }
        #expect(!loop.hasUrgentInput)  // writable is not input
        _ = write(plainPeer, "x", 1)
        #expect(!loop.hasUrgentInput)
        _ = write(urgentPeer, "x", 1)
        #expect(loop.hasUrgentInput)
        drain(urgent)
        #expect(!loop.hasUrgentInput)
    }

    /// The poll between callbacks costs a syscall, so it happens at most every interval.
    @Test func theLookBetweenCallbacksIsRateLimited() throws {
        let loop = try Reactor()
        loop.urgentPollInterval = .seconds(3600)
        let (request, peer) = socketPair()
        defer { close(request); close(peer) }
        var served = 0
        try loop.register(fd: request, interest: .read, urgent: true) { _ in self.drain(request); served += 1 }
        loop.schedule(after: .zero) { _ = write(peer, "r", 1) }
        loop.schedule(after: .zero) {}
        try loop.tick(timeoutMS: 0)  // the first look already happened when the first timer ended
        try loop.tick(timeoutMS: 0)
        #expect(served == 1)
        #expect(loop.urgentDispatches <= 1)
    }

    @Test func aDeregisteredUrgentFDIsNeverServed() throws {
        let loop = try Reactor()
        loop.urgentPollInterval = .zero
        let (request, peer) = socketPair()
        defer { close(request); close(peer) }
        var served = 0
        let id = try loop.register(fd: request, interest: .read, urgent: true) { _ in served += 1 }
        loop.deregister(id)
        _ = write(peer, "r", 1)
        #expect(!loop.hasUrgentInput)
        loop.schedule(after: .zero) {}
        try loop.tick(timeoutMS: 0)
        #expect(served == 0)
    }
}
