/// Every failure the f32 runtime reports. Bad weights, bad inputs and misuse are
/// all recoverable errors with a message that names the fault; the runtime never
/// traps on data it was handed.
public enum SAMRuntimeError: Error, Equatable, CustomStringConvertible {
    /// The weight provider has no tensor of this name.
    case missingWeight(name: String)
    /// A weight's logical shape differs from what the config implies.
    case weightShapeMismatch(name: String, expected: [Int], actual: [Int])
    /// A weight's element count differs from its declared shape.
    case weightSizeMismatch(name: String, expectedCount: Int, actualCount: Int)
    /// The model config cannot describe a runnable graph.
    case invalidConfig(String)
    /// An input tensor (image tensor, embedding, mask input) has the wrong size.
    case inputShapeMismatch(what: String, expected: [Int], actualCount: Int)
    /// An image size that cannot be the source of the current input.
    case invalidImageSize(String)
    /// `predict` was called before `setImage`, `setImageTensor` or `setEmbedding`.
    case imageNotSet
    /// `predict` was called with no point, no box and no mask input.
    case noPrompt
    /// The number of labels differs from the number of points.
    case labelCountMismatch(points: Int, labels: Int)
    /// A point or box coordinate is NaN or infinite.
    case nonFiniteCoordinate(String)
    /// A point label other than 0 (background) or 1 (foreground).
    case invalidLabel(index: Int, label: Int)
    /// A point outside `[0, width] × [0, height]` of the original image.
    case pointOutsideImage(index: Int, x: Float, y: Float, width: Int, height: Int)
    /// A box that is not `[x0, y0, x1, y1]` with `x0 <= x1`, `y0 <= y1`, inside the image.
    case invalidBox(String)
    /// A caller-supplied array holds NaN or infinity where finite values are required.
    case nonFiniteInput(what: String)

    public var description: String {
        switch self {
        case .missingWeight(let name):
            return "missing weight '\(name)'"
        case .weightShapeMismatch(let name, let expected, let actual):
            return "weight '\(name)' has shape \(actual), the config requires \(expected)"
        case .weightSizeMismatch(let name, let expected, let actual):
            return "weight '\(name)' holds \(actual) values, its shape implies \(expected)"
        case .invalidConfig(let message):
            return "invalid model config: \(message)"
        case .inputShapeMismatch(let what, let expected, let actual):
            return "\(what) holds \(actual) values, expected shape \(expected) (\(expected.reduce(1, *)) values)"
        case .invalidImageSize(let message):
            return "invalid image size: \(message)"
        case .imageNotSet:
            return "no image is set: call setImage, setImageTensor or setEmbedding before predict"
        case .noPrompt:
            return "no prompt: give at least one point, a box or a mask input"
        case .labelCountMismatch(let points, let labels):
            return "\(points) points but \(labels) labels"
        case .nonFiniteCoordinate(let what):
            return "\(what) is not a finite number"
        case .invalidLabel(let index, let label):
            return "point \(index) has label \(label); labels must be 1 (foreground) or 0 (background)"
        case .pointOutsideImage(let index, let x, let y, let width, let height):
            return "point \(index) at (\(x), \(y)) lies outside the \(width)×\(height) image"
        case .invalidBox(let message):
            return "invalid box: \(message)"
        case .nonFiniteInput(let what):
            return "\(what) contains NaN or infinity"
        }
    }
}
