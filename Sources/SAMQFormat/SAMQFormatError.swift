/// Everything that can be wrong with a `.samq` file, each naming the fault.
public enum SAMQFormatError: Error, Equatable, CustomStringConvertible {
    case tooSmall(size: Int)
    case badMagic
    case newerFormat(found: UInt32, supported: UInt32)
    case unknownRequiredFlags(UInt32)
    case headerField(String)
    case indexChecksumMismatch
    case metadata(String)
    case table(String)
    case tensor(name: String, fault: String)
    case checksumMismatch(name: String, expected: UInt64, actual: UInt64)
    case missingTensor(String)
    case unexpectedTensor(String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case compression(String)
    /// A model config no SAM can have (`SAMSchema.validate`). A reader reports it as
    /// corrupt metadata; a converter given the config reports it as it is.
    case invalidModelConfig(String)

    public var description: String {
        switch self {
        case let .tooSmall(size): return "not a .samq file: only \(size) bytes (the header alone is \(SAMQHeader.size))"
        case .badMagic: return "not a .samq file: bad magic bytes"
        case let .newerFormat(found, supported):
            return "this .samq file uses format version \(found), newer than this samq supports (\(supported)); upgrade samq"
        case let .unknownRequiredFlags(flags):
            return "this .samq file needs features this samq lacks (flags 0x\(hex(UInt64(flags))); upgrade samq"
        case let .headerField(fault): return "corrupt .samq header: \(fault)"
        case .indexChecksumMismatch: return "corrupt .samq file: the header/metadata/table checksum does not match"
        case let .metadata(fault): return "corrupt .samq metadata: \(fault)"
        case let .invalidModelConfig(fault): return "invalid model config: \(fault)"
        case let .table(fault): return "corrupt .samq tensor table: \(fault)"
        case let .tensor(name, fault): return "tensor '\(name)': \(fault)"
        case let .checksumMismatch(name, expected, actual):
            return "tensor '\(name)': checksum mismatch (expected \(hex(expected)), got \(hex(actual))): the file is corrupt"
        case let .missingTensor(name): return "tensor '\(name)' is missing"
        case let .unexpectedTensor(name): return "unexpected tensor '\(name)' for this model config"
        case let .shapeMismatch(name, expected, found):
            return "tensor '\(name)' has shape \(found), expected \(expected)"
        case let .compression(fault): return "zstd: \(fault)"
        }
    }
}

/// Fixed-width lower-case hex, for checksums in messages.
public func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}
