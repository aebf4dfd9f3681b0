/// Failures of the automatic ("segment everything") mask generator.
public enum EverythingError: Error, Equatable, CustomStringConvertible {
    /// An option outside the range the official generator accepts.
    case invalidOption(String)
    /// A malformed run-length encoding (counts not summing to the size, bad COCO string).
    case invalidRLE(String)
    /// The predictor failed on one crop (encoder or decoder error).
    case prediction(String)

    public var description: String {
        switch self {
        case .invalidOption(let message): return "invalid option: \(message)"
        case .invalidRLE(let message): return "invalid RLE: \(message)"
        case .prediction(let message): return "prediction failed: \(message)"
        }
    }
}
