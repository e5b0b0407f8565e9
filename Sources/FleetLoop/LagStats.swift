/// How late the loop serves its timers: the gap between a timer's deadline and the moment its body
/// runs. A healthy loop stays well under a millisecond; a stalled one (a long SQLite write, a blocking
/// call) shows up here first. Keeps the last 4,096 samples for percentiles.
public struct LagStats: Sendable {
    private var samples: [UInt64] = []
    private var cursor = 0
    private static let capacity = 4096
    public private(set) var count: UInt64 = 0
    public private(set) var maxNanoseconds: UInt64 = 0
    public private(set) var lastNanoseconds: UInt64 = 0

    public init() { samples.reserveCapacity(Self.capacity) }

    public mutating func record(nanoseconds ns: UInt64) {
        count += 1
        lastNanoseconds = ns
        maxNanoseconds = max(maxNanoseconds, ns)
        if samples.count < Self.capacity { samples.append(ns) } else {
            samples[cursor] = ns
            cursor = (cursor + 1) % Self.capacity
        }
    }

    /// The q-quantile (0...1) of the recent samples, in milliseconds; 0 with no samples.
    public func quantileMS(_ q: Double) -> Double {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))
        return Double(sorted[index]) / 1e6
    }

    public var maxMS: Double { Double(maxNanoseconds) / 1e6 }
}
