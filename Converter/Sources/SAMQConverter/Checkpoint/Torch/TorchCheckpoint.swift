import SAMQFormat

/// A `torch.save` zip checkpoint opened from a memory map.
final class TorchCheckpoint: CheckpointSource {
    let path: String
    let format = CheckpointFormat.torchZip
    let tensors: [SourceTensorInfo]
    private let file: MappedFile
    private let archive: ZipArchive
    private let records: [String: TorchTensorRecord]

    init(file: MappedFile) throws {
        let path = file.path
        let bytes = try CheckpointLoader.wholeFile(file)
        let parsed = try TorchArchive(bytes: bytes, path: path)
        let mapped = try SAMNameMapping.map(parsed.tensors.map(\.name), path: path)
        var records: [String: TorchTensorRecord] = [:]
        var tensors: [SourceTensorInfo] = []
        for (record, name) in zip(parsed.tensors, mapped) {
            guard let name else { continue }  // a Hugging Face-only buffer
            guard records[name] == nil else { throw CheckpointError.duplicateTensorName(path: path, name: name) }
            records[name] = record
            tensors.append(SourceTensorInfo(name: name, dtype: record.dtype, shape: record.layout.shape))
        }
        self.path = path
        self.file = file
        self.archive = parsed.zip
        self.records = records
        self.tensors = tensors
    }

    func info(named name: String) -> SourceTensorInfo? {
        records[name].map { SourceTensorInfo(name: name, dtype: $0.dtype, shape: $0.layout.shape) }
    }

    func readFloat32(named name: String) throws -> [Float] {
        guard let record = records[name] else { throw CheckpointError.tensorNotFound(path: path, name: name) }
        let all = try CheckpointLoader.wholeFile(file)
        defer { file.release(record.entry.data) }
        let storage = try archive.verifiedData(of: record.entry, in: all)
        guard let values = ElementConversion.floats(from: storage, dtype: record.dtype, layout: record.layout) else {
            throw CheckpointError.invalidTensor(path: path, tensor: name, fault: "view reaches outside its storage")
        }
        return values
    }
}
