/// `calculate_stability_score`: the IoU of the masks thresholded at
/// `threshold + offset` and `threshold - offset`. The high mask lies inside the
/// low one, so the IoU is a ratio of pixel counts. An empty low mask gives NaN
/// (0 / 0, as torch), which fails every `>=` filter.
public enum StabilityScore {
    public static func compute(logits: UnsafeBufferPointer<Float>, threshold: Float, offset: Float) -> Float {
        let high = threshold + offset, low = threshold - offset
        var intersections = 0, unions = 0
        for value in logits {
            if value > high { intersections += 1 }
            if value > low { unions += 1 }
        }
        return Float(intersections) / Float(unions)
    }

    public static func compute(logits: [Float], threshold: Float, offset: Float) -> Float {
        logits.withUnsafeBufferPointer { compute(logits: $0, threshold: threshold, offset: offset) }
    }
}
