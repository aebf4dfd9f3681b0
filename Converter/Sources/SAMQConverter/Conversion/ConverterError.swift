/// Why a conversion was refused, naming the tensor or setting at fault.
public enum ConverterError: Error, Equatable, CustomStringConvertible {
    case missingTensor(String)
    case unexpectedTensors([String])
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case cannotDetect(String)
    case nonFiniteWeights(name: String, index: Int)
    case badOption(String)
    case negativeVariance(name: String, index: Int)
    /// A config given by the caller (`--config`, `--random`) that no SAM model can have.
    case invalidConfig(String)

    public var description: String {
        switch self {
        case let .missingTensor(name): return "checkpoint lacks tensor '\(name)'"
        case let .unexpectedTensors(names):
            let shown = names.prefix(5).joined(separator: "', '")
            return "checkpoint has \(names.count) tensor(s) that are not part of SAM: '\(shown)'\(names.count > 5 ? ", …" : "")"
        case let .shapeMismatch(name, expected, found):
            return "tensor '\(name)' has shape \(found), expected \(expected) for the detected config"
        case let .cannotDetect(reason): return "cannot detect the SAM variant: \(reason)"
        case let .nonFiniteWeights(name, index): return "tensor '\(name)' holds a NaN or infinite value at element \(index)"
        case let .badOption(text): return text
        case let .negativeVariance(name, index):
            return "BatchNorm variance '\(name)' is negative or not finite at element \(index)"
        case let .invalidConfig(fault): return "invalid model config: \(fault)"
        }
    }
}
