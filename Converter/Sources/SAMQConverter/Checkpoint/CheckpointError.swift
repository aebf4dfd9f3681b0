/// Every way reading a checkpoint can fail. Each message names the file and,
/// where there is one, the zip entry or tensor, and says what is wrong, so a
/// user can tell a truncated download from a hostile file from an unsupported
/// variant.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    case emptyFile(path: String)
    case unrecognizedFormat(path: String)
    case legacyTorchFormat(path: String)
    case malformedZip(path: String, fault: String)
    case unsupportedZipEntry(path: String, entry: String, fault: String)
    case missingZipEntry(path: String, entry: String)
    case checksumMismatch(path: String, entry: String)
    case unsupportedByteOrder(path: String, byteOrder: String)
    case malformedPickle(path: String, offset: Int, fault: String)
    case forbiddenGlobal(path: String, global: String)
    case pickleLimitExceeded(path: String, offset: Int, limit: String)
    case notAStateDict(path: String, fault: String)
    case missingStorage(path: String, tensor: String, entry: String)
    case invalidTensor(path: String, tensor: String, fault: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case duplicateTensorName(path: String, name: String)
    case malformedSafetensors(path: String, fault: String)
    case unmappedNames(path: String, names: [String])
    case tensorNotFound(path: String, name: String)

    public var description: String {
        switch self {
        case let .cannotRead(path, reason):
            return "\(path): cannot read checkpoint: \(reason)"
        case let .emptyFile(path):
            return "\(path): file is empty, not a checkpoint"
        case let .unrecognizedFormat(path):
            return "\(path): not a torch zip checkpoint (.pth) nor a safetensors file"
        case let .legacyTorchFormat(path):
            return "\(path): unsupported legacy torch format (a bare pickle, not a zip archive), re-save with torch>=1.6"
        case let .malformedZip(path, fault):
            return "\(path): malformed zip archive: \(fault)"
        case let .unsupportedZipEntry(path, entry, fault):
            return "\(path): zip entry '\(entry)': \(fault)"
        case let .missingZipEntry(path, entry):
            return "\(path): zip entry '\(entry)' is missing"
        case let .checksumMismatch(path, entry):
            return "\(path): zip entry '\(entry)' fails its CRC-32 check (file corrupt or truncated)"
        case let .unsupportedByteOrder(path, byteOrder):
            return "\(path): byteorder '\(byteOrder)' is not supported, only little-endian checkpoints are"
        case let .malformedPickle(path, offset, fault):
            return "\(path): malformed data.pkl at byte \(offset): \(fault)"
        case let .forbiddenGlobal(path, global):
            return "\(path): data.pkl references '\(global)', which is not an allowed global (refused, nothing executed)"
        case let .pickleLimitExceeded(path, offset, limit):
            return "\(path): data.pkl exceeds a safety limit at byte \(offset): \(limit)"
        case let .notAStateDict(path, fault):
            return "\(path): not a state dict of tensors: \(fault)"
        case let .missingStorage(path, tensor, entry):
            return "\(path): tensor '\(tensor)': its storage '\(entry)' is not in the archive"
        case let .invalidTensor(path, tensor, fault):
            return "\(path): tensor '\(tensor)': \(fault)"
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)': unsupported dtype \(dtype)"
        case let .duplicateTensorName(path, name):
            return "\(path): tensor name '\(name)' appears more than once"
        case let .malformedSafetensors(path, fault):
            return "\(path): malformed safetensors header: \(fault)"
        case let .unmappedNames(path, names):
            let shown = names.prefix(8).joined(separator: ", ")
            let more = names.count > 8 ? " and \(names.count - 8) more" : ""
            return "\(path): Hugging Face tensor names with no segment_anything counterpart: \(shown)\(more)"
        case let .tensorNotFound(path, name):
            return "\(path): no tensor named '\(name)'"
        }
    }
}
