import FleetLoop

/// How a network source waits after a throttled (429/503/504) or failed attempt.
///
/// Graph's rule: wait the `Retry-After` seconds (fractional values included, e.g. `2.128`) and
/// never retry at once, because every request counts against the tenant's budget; without the
/// header, back off exponentially. Jitter spreads boxes of one tenant that sync in lockstep.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts per request, the first one included.
    public var maxAttempts: Int
    /// First backoff without `Retry-After`; doubles per attempt.
    public var baseDelay: Duration
    /// A longer wait (backoff or `Retry-After`) gives the run up instead: the next run retries,
    /// and the cache keeps serving meanwhile.
    public var maxDelay: Duration
    /// Attempts for transport failures (connect refused, timeout), which usually mean an outage.
    public var maxNetworkAttempts: Int
    /// Per request, connect included.
    public var requestTimeout: Duration

    public init(
        maxAttempts: Int = 6, baseDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(120),
        maxNetworkAttempts: Int = 3, requestTimeout: Duration = .seconds(30)
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxNetworkAttempts = maxNetworkAttempts
        self.requestTimeout = requestTimeout
    }

    /// Statuses that mean "slow down, then try the same request again".
    public static func isThrottle(_ status: Int) -> Bool { status == 429 || status == 503 || status == 504 }

    /// The wait before the attempt after `attempt` (1-based), or nil when the run should give up.
    /// `unit` is a random number in 0..<1 for the jitter (injected so tests are exact).
    public func delay(afterAttempt attempt: Int, retryAfter: String?, unit: Double, attempts limit: Int? = nil) -> Duration? {
        guard attempt < (limit ?? maxAttempts) else { return nil }
        if let header = retryAfter, let seconds = Self.seconds(retryAfter: header) {
            let wait = Duration.nanoseconds(Int64((seconds * 1e9).rounded()))
            return wait <= maxDelay ? wait : nil
        }
        // Equal jitter: half the exponential step fixed, half random, never zero.
        let step = baseDelay.seconds * Double(1 << min(attempt - 1, 20))
        let capped = min(step, maxDelay.seconds)
        let seconds = capped / 2 + capped / 2 * min(max(unit, 0), 1)
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// `Retry-After` as delay seconds (`2`, `2.128`); nil for an HTTP date or garbage, which then
    /// falls back to backoff. Negative values are garbage.
    public static func seconds(retryAfter: String) -> Double? {
        let text = Person.trimmed(retryAfter)
        guard !text.isEmpty, text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e }),
            let value = Double(text), value.isFinite, value >= 0
        else { return nil }
        return value
    }
}
