/// Exponential backoff with full jitter for reconnects: attempt n waits a random time in
/// [base·2ⁿ/2, base·2ⁿ], capped. Jitter keeps a fleet of clients from reconnecting in lockstep
/// after a broker restart.
public struct ReconnectPolicy: Sendable {
    public var base: Duration = .milliseconds(250)
    public var cap: Duration = .seconds(30)
    public private(set) var attempt = 0

    public init(base: Duration = .milliseconds(250), cap: Duration = .seconds(30)) {
        self.base = base
        self.cap = cap
    }

    public mutating func nextDelay(random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) -> Duration {
        let exp = min(attempt, 20)
        attempt += 1
        let ceiling = min(base.seconds * Double(1 << exp), cap.seconds)
        return .milliseconds(Int64(random(ceiling / 2...ceiling) * 1000))
    }

    public mutating func reset() { attempt = 0 }
}
