/// A token bucket: `capacity` events at once, refilled at `rate` per second. Guards the hello topic,
/// which every unpaired panel may publish to with the shared bootstrap account: a flood must not
/// turn into a write per message or crowd the pending list.
public struct TokenBucket: Sendable, Equatable {
    public let rate: Double
    public let capacity: Double
    public private(set) var tokens: Double
    public private(set) var last: Double?

    public init(rate: Double, capacity: Double) {
        self.rate = rate
        self.capacity = capacity
        tokens = capacity
    }

    /// Takes one token at `now` (seconds); false when the bucket is empty.
    public mutating func take(now: Double) -> Bool {
        if let last, now > last { tokens = min(capacity, tokens + (now - last) * rate) }
        last = max(last ?? now, now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
