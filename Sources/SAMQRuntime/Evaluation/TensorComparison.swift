#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How close a tensor is to a reference: cosine similarity, SQNR and relative
/// L2 error, the figures `samq eval` and docs/ACCURACY.md quote.
///
/// Kept as running sums (in Double: float32 sums of 10⁶ squares lose digits
/// exactly where a 50 dB SQNR lives) so that several images merge into one
/// overall figure that weighs every element equally.
public struct TensorComparison: Equatable, Sendable {
    /// Σ x·r, Σ x², Σ r², Σ (x − r)².
    public private(set) var dot = 0.0
    public private(set) var modelSquares = 0.0
    public private(set) var referenceSquares = 0.0
    public private(set) var errorSquares = 0.0
    public private(set) var count = 0

    public init() {}

    /// Compares `model` against `reference` element by element.
    public init(model: [Float], reference: [Float], what: String = "tensor") throws(EvaluationError) {
        guard model.count == reference.count else {
            throw .lengthMismatch(what: what, model: model.count, reference: reference.count)
        }
        for i in model.indices {
            let x = Double(model[i]), r = Double(reference[i])
            dot += x * r
            modelSquares += x * x
            referenceSquares += r * r
            errorSquares += (x - r) * (x - r)
        }
        count = model.count
    }

    /// The comparison over both sets of elements together.
    public func merged(with other: TensorComparison) -> TensorComparison {
        var sum = self
        sum.dot += other.dot
        sum.modelSquares += other.modelSquares
        sum.referenceSquares += other.referenceSquares
        sum.errorSquares += other.errorSquares
        sum.count += other.count
        return sum
    }

    /// x·r / (‖x‖ ‖r‖). Two all-zero tensors are identical (1); one all-zero
    /// tensor against a non-zero one shares no direction (0).
    public var cosine: Double {
        let norms = (modelSquares * referenceSquares).squareRoot()
        if norms == 0 { return modelSquares == referenceSquares ? 1 : 0 }
        return dot / norms
    }

    /// 10·log10(Σ r² / Σ (x − r)²) in dB; +∞ when the tensors are identical.
    public var sqnrDecibels: Double {
        if errorSquares == 0 { return .infinity }
        return 10 * log10(referenceSquares / errorSquares)
    }

    /// ‖x − r‖ / ‖r‖; 0 for identical tensors, +∞ for a non-zero error on an all-zero reference.
    public var relativeL2: Double {
        if errorSquares == 0 { return 0 }
        if referenceSquares == 0 { return .infinity }
        return (errorSquares / referenceSquares).squareRoot()
    }
}
