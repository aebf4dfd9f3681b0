/// Failures of the int8 (W8A8) building blocks. Each names the fault so a
/// user can act on it; nothing in the int8 path traps on caller data.
public enum Int8RuntimeError: Error, Equatable, CustomStringConvertible {
    /// `SAMQ_ISA` (or an explicit request) names no kernel family.
    case unknownISA(name: String, supported: [String])
    /// The kernel family exists but this CPU (or this build) cannot run it.
    case unsupportedISA(name: String, supported: [String])
    /// A packed weight whose size, geometry or alignment is not what the kernels read.
    case invalidPackedWeight(name: String, fault: String)
    /// An input or output whose size disagrees with the layer's shape.
    case shapeMismatch(what: String, expected: Int, actual: Int)
    /// A layer configuration that cannot run (zero heads, non-square rel-pos grid, ...).
    case invalidConfiguration(String)
    /// The C kernel rejected arguments the Swift side considered valid (a bug).
    case kernelRejected(String)
    /// An environment setting (`SAMQ_BF16=...`) that is malformed or asks for what this CPU lacks.
    case unsupportedSetting(setting: String, problem: String)

    public var description: String {
        switch self {
        case .unknownISA(let name, let supported):
            return "unknown kernel ISA '\(name)'; this CPU supports: \(supported.joined(separator: ", "))"
        case .unsupportedISA(let name, let supported):
            return "kernel ISA '\(name)' is not supported on this CPU; it supports: \(supported.joined(separator: ", "))"
        case .invalidPackedWeight(let name, let fault):
            return "packed int8 weight '\(name)': \(fault)"
        case .shapeMismatch(let what, let expected, let actual):
            return "\(what) holds \(actual) values, expected \(expected)"
        case .invalidConfiguration(let message):
            return "invalid int8 layer configuration: \(message)"
        case .kernelRejected(let message):
            return "int8 kernel rejected its arguments: \(message)"
        case .unsupportedSetting(let setting, let problem):
            return "\(setting): \(problem)"
        }
    }
}
