/// Why an evaluation metric could not be computed. Metrics are only defined
/// on inputs of matching sizes; a mismatch is a caller bug or two models of
/// different shapes, and is reported rather than silently truncated.
public enum EvaluationError: Error, Equatable, CustomStringConvertible {
    /// Two arrays compared element by element differ in length.
    case lengthMismatch(what: String, model: Int, reference: Int)
    /// A statistic was asked of no values.
    case empty(what: String)
    /// A percentile outside `0...100`.
    case invalidPercentile(Double)

    public var description: String {
        switch self {
        case .lengthMismatch(let what, let model, let reference):
            return "\(what): the model gives \(model) values, the reference \(reference)"
        case .empty(let what):
            return "\(what): no values"
        case .invalidPercentile(let p):
            return "percentile \(p) is outside 0...100"
        }
    }
}
