/// Streams a `.samq` file to disk one tensor at a time.
///
/// The tensor list is fixed up front (its table size depends only on names and
/// shapes), data is appended in that order, and the index is written last.
/// The file appears under its final name only after `finish()` succeeds.
public final class SAMQWriter {
    public private(set) var entries: [TensorEntry]
    private let metadata: [UInt8]
    private let file: AtomicFile
    private let compressionLevel: Int32
    private var nextIndex = 0
    private let dataStart: Int

    public init(path: String, metadata: SAMQMetadata, plan: [TensorEntry], compressionLevel: Int32 = 3) throws {
        self.entries = plan
        self.metadata = try metadata.encoded()
        self.compressionLevel = compressionLevel
        var seen = Set<String>()
        for entry in plan {
            guard seen.insert(entry.name).inserted else { throw SAMQFormatError.table("duplicate tensor '\(entry.name)'") }
            guard entry.expectedRawSize() != nil else {
                throw SAMQFormatError.tensor(name: entry.name, fault: "invalid shape \(entry.shape) for \(entry.layout) \(entry.dtype)")
            }
        }
        let tableEnd = SAMQHeader.size + self.metadata.count + TensorTable.encodedSize(of: plan)
        dataStart = tableEnd
        file = try AtomicFile(path: path)
        try file.pad(to: dataStart)
    }

    /// The next tensor the writer expects.
    public var nextName: String? { nextIndex < entries.count ? entries[nextIndex].name : nil }

    /// Appends the raw bytes of the next planned tensor; returns its final entry.
    @discardableResult
    public func append(name: String, raw: UnsafeRawBufferPointer) throws -> TensorEntry {
        guard nextIndex < entries.count, entries[nextIndex].name == name else {
            throw SAMQFormatError.table("tensor '\(name)' written out of order (expected '\(nextName ?? "none")')")
        }
        var entry = entries[nextIndex]
        guard raw.count == entry.expectedRawSize() else {
            throw SAMQFormatError.tensor(name: name, fault: "got \(raw.count) bytes, expected \(entry.expectedRawSize() ?? -1)")
        }
        entry.rawSize = raw.count
        entry.checksum = XXHash64.hash(raw)
        let offset = (file.position + entry.codec.alignment - 1) / entry.codec.alignment * entry.codec.alignment
        try file.pad(to: offset)
        entry.offset = offset
        switch entry.codec {
        case .raw:
            try file.write(raw)
            entry.storedSize = raw.count
        case .zstd:
            let packed = try Zstd.compress(raw, level: compressionLevel)
            try file.write(packed)
            entry.storedSize = packed.count
        }
        entries[nextIndex] = entry
        nextIndex += 1
        return entry
    }

    @discardableResult
    public func append(name: String, floats: [Float]) throws -> TensorEntry {
        try floats.withUnsafeBytes { try append(name: name, raw: $0) }
    }

    /// Writes the index and atomically publishes the file.
    public func finish() throws {
        guard nextIndex == entries.count else {
            throw SAMQFormatError.table("only \(nextIndex) of \(entries.count) tensors were written (next: '\(nextName ?? "")')")
        }
        let table = TensorTable.encode(entries)
        var header = SAMQHeader(metadataOffset: SAMQHeader.size, metadataLength: metadata.count,
                                tableOffset: SAMQHeader.size + metadata.count, tableLength: table.count,
                                tensorCount: entries.count)
        header.indexChecksum = SAMQFile.indexChecksum(headerPrefix: header.encodedPrefix(), metadata: metadata, table: table)
        let index = header.encoded() + metadata + table
        guard index.count == dataStart else { throw SAMQFormatError.table("index size changed after planning") }
        try index.withUnsafeBytes { try file.write($0, at: 0) }
        try file.commit()
    }

    /// Drops everything written so far.
    public func abandon() { file.abandon() }
}
