import CFleetShims

/// What a registration wants to hear about.
public struct Interest: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let read = Interest(rawValue: 1)
    public static let write = Interest(rawValue: 2)
    public static let readWrite: Interest = [.read, .write]

    var epollBits: UInt32 {
        var bits: UInt32 = 0
        if contains(.read) { bits |= UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue) }
        if contains(.write) { bits |= UInt32(EPOLLOUT.rawValue) }
        return bits
    }
}

/// What happened on an fd.
public struct Readiness: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let readable = Readiness(rawValue: 1)
    public static let writable = Readiness(rawValue: 2)
    public static let error = Readiness(rawValue: 4)
    public static let hangup = Readiness(rawValue: 8)

    init(epollBits bits: UInt32) {
        var r: Readiness = []
        if bits & UInt32(EPOLLIN.rawValue) != 0 { r.insert(.readable) }
        if bits & UInt32(EPOLLOUT.rawValue) != 0 { r.insert(.writable) }
        if bits & UInt32(EPOLLERR.rawValue) != 0 { r.insert(.error) }
        if bits & (UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLRDHUP.rawValue)) != 0 { r.insert(.hangup) }
        self = r
    }

    public var description: String {
        var parts: [String] = []
        if contains(.readable) { parts.append("in") }
        if contains(.writable) { parts.append("out") }
        if contains(.error) { parts.append("err") }
        if contains(.hangup) { parts.append("hup") }
        return parts.joined(separator: "|")
    }
}

/// epoll(7) behind the one errno policy. The 64-bit user data carries a registration generation next
/// to the fd so that an event for an fd that was closed and reused in the same batch is dropped.
enum Epoll {
    static func create() throws(SystemError) -> CInt {
        try syscall("epoll_create1") { epoll_create1(CInt(EPOLL_CLOEXEC)) }!
    }

    static func add(_ epfd: CInt, fd: CInt, bits: UInt32, data: UInt64) throws(SystemError) {
        var ev = epoll_event(events: bits, data: epoll_data_t(u64: data))
        _ = try syscall("epoll_ctl ADD fd \(fd)") { epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) }
    }

    static func modify(_ epfd: CInt, fd: CInt, bits: UInt32, data: UInt64) throws(SystemError) {
        var ev = epoll_event(events: bits, data: epoll_data_t(u64: data))
        _ = try syscall("epoll_ctl MOD fd \(fd)") { epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) }
    }

    /// Tolerates an fd that its library already closed (libmosquitto and libcurl close sockets on
    /// errors before telling us): the kernel dropped it from the set with the close.
    static func remove(_ epfd: CInt, fd: CInt) {
        var ev = epoll_event()
        _ = epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev)
    }

    static func wait(_ epfd: CInt, events: UnsafeMutablePointer<epoll_event>, capacity: CInt,
                     timeoutMS: CInt) throws(SystemError) -> Int {
        while true {
            let n = epoll_wait(epfd, events, capacity, timeoutMS)
            if n >= 0 { return Int(n) }
            let err = cfs_errno()
            // A signal interrupted the wait: report no events; the caller ticks again.
            if err == EINTR { return 0 }
            throw SystemError(errno: err, operation: "epoll_wait")
        }
    }
}
