import SAMQFormat

/// Opens a checkpoint by sniffing its first bytes, not its file extension.
///
/// Readers (all under Checkpoint/):
/// - Zip/: a ZIP reader for stored entries (EOCD, ZIP64, local headers), with
///   every offset checked against the file size.
/// - Pickle/: a restricted unpickler that builds values from an allowlist of
///   globals and never executes anything; Torch/ turns its result into tensors
///   validated against their storages.
/// - Safetensors/: header validation with safetensors' own rules.
/// - Names/: Hugging Face `SamModel` names onto official `segment_anything` names.
/// - Decoding/: strided gather and dtype conversion to Float.
///
/// Only metadata is parsed at open time; each `readFloat32(named:)` touches
/// one tensor's pages of the memory map and releases them afterwards, so
/// converting a multi-gigabyte checkpoint needs about one tensor of RAM.
public enum CheckpointLoader {
    /// What the first bytes of a file say it is.
    enum Sniffed: Equatable { case torchZip, safetensors, legacyTorchPickle, unknown }

    public static func open(path: String) throws -> CheckpointSource {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch {
            throw CheckpointError.cannotRead(path: path, reason: "\(error)")
        }
        guard file.count > 0 else { throw CheckpointError.emptyFile(path: path) }
        switch sniff(try wholeFile(file)) {
        case .torchZip: return try TorchCheckpoint(file: file)
        case .safetensors: return try SafetensorsCheckpoint(file: file)
        case .legacyTorchPickle: throw CheckpointError.legacyTorchFormat(path: path)
        case .unknown: throw CheckpointError.unrecognizedFormat(path: path)
        }
    }

    static func sniff(_ bytes: UnsafeRawBufferPointer) -> Sniffed {
        if bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, bytes[2] == 0x03, bytes[3] == 0x04 { return .torchZip }
        // safetensors: u64 little-endian header length, then the JSON object.
        if bytes.count >= 9, bytes[8] == UInt8(ascii: "{") { return .safetensors }
        // torch < 1.6 wrote a bare pickle stream (PROTO opcode first); before
        // 0.4 it wrote a tar archive ("ustar" magic at offset 257).
        if bytes.count >= 2, bytes[0] == 0x80, bytes[1] <= 5 { return .legacyTorchPickle }
        if bytes.count >= 262, bytes[257..<262].elementsEqual("ustar".utf8) { return .legacyTorchPickle }
        return .unknown
    }

    /// The whole mapped file as one buffer (pages load lazily as they are touched).
    static func wholeFile(_ file: MappedFile) throws -> UnsafeRawBufferPointer {
        do { return try file.bytes(0..<file.count) } catch {
            throw CheckpointError.cannotRead(path: file.path, reason: "\(error)")
        }
    }
}
