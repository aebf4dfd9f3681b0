/// Intersection over union of two binary masks of the same size (non-zero is
/// foreground), as SAM's `calculate_stability_score` and the SA-1B metrics
/// count pixels.
///
/// Two empty masks agree perfectly and score 1: a model pair that both find
/// nothing should not drag the mean down as a total disagreement would.
public func maskIoU(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) throws(EvaluationError) -> Double {
    guard a.count == b.count else { throw .lengthMismatch(what: "mask", model: a.count, reference: b.count) }
    var intersection = 0, union = 0
    var i = a.startIndex, j = b.startIndex
    while i < a.endIndex {
        let x = a[i] != 0, y = b[j] != 0
        if x && y { intersection += 1 }
        if x || y { union += 1 }
        i += 1; j += 1
    }
    return union == 0 ? 1 : Double(intersection) / Double(union)
}

/// The whole-array form of `maskIoU(_:_:)`.
public func maskIoU(_ a: [UInt8], _ b: [UInt8]) throws(EvaluationError) -> Double {
    try maskIoU(a[...], b[...])
}
