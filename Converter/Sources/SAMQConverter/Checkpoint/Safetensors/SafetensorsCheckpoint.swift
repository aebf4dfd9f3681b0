import SAMQFormat

/// A safetensors file opened from a memory map.
final class SafetensorsCheckpoint: CheckpointSource {
    let path: String
    let format = CheckpointFormat.safetensors
    let tensors: [SourceTensorInfo]
    private let file: MappedFile
    private let entries: [String: SafetensorsEntry]

    init(file: MappedFile) throws {
        let path = file.path
        let header = try SafetensorsHeader(bytes: try CheckpointLoader.wholeFile(file), path: path)
        let mapped = try SAMNameMapping.map(header.entries.map(\.name), path: path)
        var entries: [String: SafetensorsEntry] = [:]
        var tensors: [SourceTensorInfo] = []
        for (entry, name) in zip(header.entries, mapped) {
            guard let name else { continue }  // a Hugging Face-only buffer
            guard entries[name] == nil else { throw CheckpointError.duplicateTensorName(path: path, name: name) }
            entries[name] = entry
            tensors.append(SourceTensorInfo(name: name, dtype: entry.dtype, shape: entry.shape))
        }
        self.path = path
        self.file = file
        self.entries = entries
        self.tensors = tensors
    }

    func info(named name: String) -> SourceTensorInfo? {
        entries[name].map { SourceTensorInfo(name: name, dtype: $0.dtype, shape: $0.shape) }
    }

    func readFloat32(named name: String) throws -> [Float] {
        guard let entry = entries[name] else { throw CheckpointError.tensorNotFound(path: path, name: name) }
        defer { file.release(entry.data) }
        let bytes: UnsafeRawBufferPointer
        do { bytes = try file.bytes(entry.data) } catch {
            throw CheckpointError.cannotRead(path: path, reason: "\(error)")
        }
        guard let values = ElementConversion.floats(from: bytes, dtype: entry.dtype, layout: .contiguous(shape: entry.shape)) else {
            throw CheckpointError.invalidTensor(path: path, tensor: name, fault: "data reaches outside the file")
        }
        return values
    }
}
