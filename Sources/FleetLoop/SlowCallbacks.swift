/// Where a loop callback was registered: the `#fileID` and `#line` of the `schedule`, `every`,
/// `register` or `onTickEnd` call that handed it over. Captured by default arguments, so every
/// callback is named without its owner doing anything.
public struct CallSite: Sendable, CustomStringConvertible {
    public let file: StaticString
    public let line: UInt

    public init(file: StaticString, line: UInt) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// Loop callbacks that ran longer than a threshold, grouped by call site.
///
/// The lag of a door's request is the longest callback that ran before it; this says which one
/// that was without a profiler. Keeps, per site, how often it was slow, its longest run and the
/// total time spent slow; a handful of sites ever show up, so the table stays small.
public struct SlowCallbacks: Sendable {
    public struct Entry: Sendable, Equatable {
        public var site: String
        public var count: Int
        public var maxNanoseconds: UInt64
        public var totalNanoseconds: UInt64
        /// The thread's CPU time in the longest run (0 unless `measuresCPU`): far below the wall
        /// time means the loop was waiting (I/O, or other processes had the CPU), not working.
        public var cpuOfMaxNanoseconds: UInt64 = 0
        /// The longest CPU time of one run (0 unless `measuresCPU`).
        public var maxCPUNanoseconds: UInt64 = 0

        public var maxMS: Double { Double(maxNanoseconds) / 1e6 }
        public var totalMS: Double { Double(totalNanoseconds) / 1e6 }
        public var maxCPUMS: Double { Double(maxCPUNanoseconds) / 1e6 }
    }

    /// A callback that takes longer than this is noted.
    public var thresholdNanoseconds: UInt64
    /// Also read the thread's CPU clock around each callback (two more system calls per callback),
    /// to tell work from waiting on a busy machine. Off by default.
    public var measuresCPU = false
    private var bySite: [String: Entry] = [:]
    public private(set) var count = 0

    public init(threshold: Duration = .milliseconds(2)) {
        thresholdNanoseconds = UInt64(max(0, threshold.nanosecondsClamped))
    }

    /// Notes one run of a callback from `site`; true when it was slow.
    @discardableResult
    public mutating func record(_ site: @autoclosure () -> String, nanoseconds ns: UInt64, cpuNanoseconds cpu: UInt64 = 0) -> Bool {
        guard ns > thresholdNanoseconds else { return false }
        count += 1
        let key = site()
        var entry = bySite[key] ?? Entry(site: key, count: 0, maxNanoseconds: 0, totalNanoseconds: 0)
        entry.count += 1
        if ns > entry.maxNanoseconds {
            entry.maxNanoseconds = ns
            entry.cpuOfMaxNanoseconds = cpu
        }
        entry.maxCPUNanoseconds = max(entry.maxCPUNanoseconds, cpu)
        entry.totalNanoseconds += ns
        bySite[key] = entry
        return true
    }

    /// The sites with slow runs, longest single run first.
    public func slowest(_ limit: Int = 10) -> [Entry] {
        Array(bySite.values.sorted { ($0.maxNanoseconds, $0.count) > ($1.maxNanoseconds, $1.count) }.prefix(limit))
    }

    public mutating func reset() {
        bySite = [:]
        count = 0
    }
}
