import CFleetShims

/// A point on the monotonic clock, in nanoseconds since an arbitrary origin (boot).
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    public static func + (a: Instant, d: Duration) -> Instant {
        let delta = d.nanosecondsClamped
        return delta >= 0
            ? Instant(nanoseconds: a.nanoseconds &+ UInt64(delta))
            : Instant(nanoseconds: a.nanoseconds >= UInt64(-delta) ? a.nanoseconds - UInt64(-delta) : 0)
    }

    /// Time from `earlier` to `self`; zero if `earlier` is later.
    public func since(_ earlier: Instant) -> Duration {
        nanoseconds > earlier.nanoseconds ? .nanoseconds(Int64(nanoseconds - earlier.nanoseconds)) : .zero
    }

    public var description: String { "\(Double(nanoseconds) / 1e9)s" }
}

extension Duration {
    /// Whole nanoseconds, saturating at Int64 bounds (a 292-year timeout is "forever" here).
    public var nanosecondsClamped: Int64 {
        let (s, atto) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? Int64.min : Int64.max }
        return ns.addingReportingOverflow(atto / 1_000_000_000).overflow ? Int64.max : ns + atto / 1_000_000_000
    }

    public var milliseconds: Double { Double(nanosecondsClamped) / 1e6 }
    public var seconds: Double { Double(nanosecondsClamped) / 1e9 }
}

/// Where the loop and everything on it reads time. Monotonic time orders timers; Unix time stamps
/// records. Tests use `ManualClock` so that expiry, backoff and cache age run without sleeping.
public protocol Clock: AnyObject {
    /// Monotonic time, for timers and durations.
    var now: Instant { get }
    /// Wall-clock seconds since the Unix epoch, for records and ages shown to people.
    var unixTime: Double { get }
}

/// The clock of the machine: CLOCK_MONOTONIC and CLOCK_REALTIME.
public final class SystemClock: Clock {
    public init() {}

    public var now: Instant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Instant(nanoseconds: UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
    }

    public var unixTime: Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A clock that moves only when told to. The reactor fires due timers when it is advanced.
public final class ManualClock: Clock {
    public private(set) var now: Instant
    public private(set) var unixTime: Double

    public init(unixTime: Double = 1_800_000_000, monotonic: Instant = Instant(nanoseconds: 1_000_000_000)) {
        self.now = monotonic
        self.unixTime = unixTime
    }

    public func advance(by d: Duration) {
        now = now + d
        unixTime += d.seconds
    }
}

@available(*, unavailable) extension ManualClock: Sendable {}
