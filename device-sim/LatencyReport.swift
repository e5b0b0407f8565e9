/// Latency percentiles by the nearest-rank method on the sorted samples: p-th percentile is the
/// smallest sample with at least p % of samples at or below it, so every figure is a measured value.
struct LatencyReport {
    private(set) var sorted: [Double]

    init(milliseconds samples: [Double]) { sorted = samples.sorted() }

    var count: Int { sorted.count }

    func percentile(_ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(sorted.count, Swift.max(1, rank)) - 1]
    }

    var maximum: Double { sorted.last ?? 0 }

    /// `p50 0.131  p90 0.160  p99 0.210  max 0.950` in ms, to the microsecond.
    var text: String {
        "p50 \(ms(percentile(50)))  p90 \(ms(percentile(90)))  p99 \(ms(percentile(99)))  max \(ms(maximum))"
    }

    var jsonFields: String {
        #""p50_ms":\#(ms(percentile(50))),"p90_ms":\#(ms(percentile(90))),"#
            + #""p99_ms":\#(ms(percentile(99))),"max_ms":\#(ms(maximum))"#
    }

    private func ms(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}
