/// Mean, minimum, maximum and low percentile of a set of per-prompt figures
/// (IoUs, errors): what `samq eval` reports for each metric.
public struct SummaryStatistics: Equatable, Sendable, Codable {
    public var count: Int
    public var mean: Double
    public var min: Double
    public var max: Double
    /// The 5th percentile: the bad tail a mean hides.
    public var p5: Double

    public init(_ values: [Double]) throws(EvaluationError) {
        guard !values.isEmpty else { throw .empty(what: "summary statistics") }
        let sorted = values.sorted()
        count = values.count
        mean = values.reduce(0, +) / Double(values.count)
        min = sorted[0]
        max = sorted[sorted.count - 1]
        p5 = try percentile(sorted: sorted, 5)
    }
}

/// The `p`-th percentile (0...100) of ascending `sorted` values with linear
/// interpolation between closest ranks: NumPy's default (`method="linear"`),
/// so figures match a script's `np.percentile`.
public func percentile(sorted: [Double], _ p: Double) throws(EvaluationError) -> Double {
    guard !sorted.isEmpty else { throw .empty(what: "percentile") }
    guard p >= 0, p <= 100 else { throw .invalidPercentile(p) }
    let rank = p / 100 * Double(sorted.count - 1)
    let lower = Int(rank.rounded(.down))
    let upper = Swift.min(lower + 1, sorted.count - 1)
    let fraction = rank - Double(lower)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}

/// The median (the 50th percentile) of unsorted values; 0 for none, as timings of nothing cost nothing.
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    return (try? percentile(sorted: values.sorted(), 50)) ?? 0
}
