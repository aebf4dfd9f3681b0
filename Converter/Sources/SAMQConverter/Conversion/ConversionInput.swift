import SAMQFormat

/// Where the converter's weights come from: a checkpoint on disk or the
/// random generator. Tensors are pulled one at a time by name, so no source
/// ever has to hold a whole model in memory.
public struct ConversionInput {
    public var tensors: [SourceTensorInfo]
    public var read: (String) throws -> [Float]
    public var provenance: SAMQMetadata.Provenance

    public init(tensors: [SourceTensorInfo], provenance: SAMQMetadata.Provenance,
                read: @escaping (String) throws -> [Float]) {
        self.tensors = tensors; self.provenance = provenance; self.read = read
    }

    public var shapes: [String: [Int]] {
        Dictionary(tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
    }
}

extension ConversionInput {
    /// Wraps an opened checkpoint, hashing it for provenance.
    public init(checkpoint: CheckpointSource, converterVersion: String, hashSource: Bool = true) throws {
        let fileName = checkpoint.path.split(separator: "/").last.map(String.init) ?? checkpoint.path
        var digest: String? = nil
        var size: Int? = nil
        if hashSource {
            let map = try MappedFile(path: checkpoint.path)
            map.adviseSequential()
            digest = sha256Hex(of: map)
            size = map.count
        }
        self.init(tensors: checkpoint.tensors,
                  provenance: .init(source: fileName, sourceFormat: checkpoint.format.rawValue, sourceSHA256: digest,
                                    sourceBytes: size, converterVersion: converterVersion,
                                    createdAt: Timestamp.nowISO8601()),
                  read: { try checkpoint.readFloat32(named: $0) })
    }
}
