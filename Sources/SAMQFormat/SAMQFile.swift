/// A `.samq` file opened for reading: mapped, with its header, metadata and
/// table parsed and validated once. Tensor bytes are touched only on request.
public final class SAMQFile: @unchecked Sendable {
    public let path: String
    public let header: SAMQHeader
    public let metadata: SAMQMetadata
    public let entries: [TensorEntry]
    public let map: MappedFile
    private let indexByName: [String: Int]

    public var config: ModelConfig { metadata.model }
    public var fileSize: Int { map.count }

    /// Opens and validates `path`. Every offset, size, shape and count is
    /// checked against the file size and the model config before use.
    public convenience init(path: String) throws {
        try self.init(map: try MappedFile(path: path))
    }

    /// Parses an already mapped (or in-memory) file.
    public init(map: MappedFile) throws {
        self.path = map.path
        self.map = map
        guard map.count >= SAMQHeader.size else { throw SAMQFormatError.tooSmall(size: map.count) }
        let header = try SAMQHeader.decode(try map.bytes(0..<SAMQHeader.size), fileSize: map.count)
        let metadataBytes = try map.bytes(header.metadataOffset..<header.metadataOffset + header.metadataLength)
        let tableBytes = try map.bytes(header.tableOffset..<header.tableOffset + header.tableLength)
        let checksum = SAMQFile.indexChecksum(headerPrefix: header.encodedPrefix(), metadata: Array(metadataBytes),
                                              table: Array(tableBytes))
        guard checksum == header.indexChecksum else { throw SAMQFormatError.indexChecksumMismatch }
        let metadata = try SAMQMetadata.decode(metadataBytes)
        guard metadata.format == "samq" else { throw SAMQFormatError.metadata("format is '\(metadata.format)', not 'samq'") }
        do { try SAMSchema.validate(metadata.model) } catch let SAMQFormatError.invalidModelConfig(fault) {
            throw SAMQFormatError.metadata("model config: \(fault)")
        }
        let entries = try TensorTable.decode(tableBytes, count: header.tensorCount)
        try SAMQFile.validate(entries, dataStart: header.tableOffset + header.tableLength, fileSize: map.count)
        try SAMQFile.validate(entries, against: SAMSchema(config: metadata.model))
        self.header = header
        self.metadata = metadata
        self.entries = entries
        indexByName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    public func entry(named name: String) throws -> TensorEntry {
        guard let index = indexByName[name] else { throw SAMQFormatError.missingTensor(name) }
        return entries[index]
    }

    /// Calls `body` with the tensor's raw bytes after verifying its checksum.
    /// Raw-codec tensors are passed straight from the map (no copy); zstd
    /// tensors are decompressed into `scratch`, which is grown as needed and
    /// can be reused across calls.
    public func withRawBytes<T>(of entry: TensorEntry, scratch: inout [UInt8],
                                context: Zstd.DecompressionContext? = nil,
                                verify: Bool = true,
                                _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        let stored = try map.bytes(entry.offset..<entry.offset + entry.storedSize)
        switch entry.codec {
        case .raw:
            if verify { try check(entry, stored) }
            return try body(stored)
        case .zstd:
            if scratch.count < entry.rawSize { scratch = [UInt8](repeating: 0, count: entry.rawSize) }
            return try scratch.withUnsafeMutableBytes { buffer in
                let output = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<entry.rawSize])
                try decompress(entry, stored: stored, into: output, context: context, verify: verify)
                return try body(UnsafeRawBufferPointer(output))
            }
        }
    }

    /// Decodes a zstd tensor into `output` (exactly `rawSize` bytes, caller
    /// owned: the streaming encoder's arena) and verifies its checksum. Any
    /// fault names the tensor; on error `output` holds no usable data.
    public func decompress(_ entry: TensorEntry, into output: UnsafeMutableRawBufferPointer,
                           context: Zstd.DecompressionContext? = nil) throws {
        guard entry.codec == .zstd else { throw SAMQFormatError.tensor(name: entry.name, fault: "is not zstd-compressed") }
        guard output.count == entry.rawSize else {
            throw SAMQFormatError.tensor(name: entry.name, fault: "needs \(entry.rawSize) bytes, buffer has \(output.count)")
        }
        let stored = try map.bytes(entry.offset..<entry.offset + entry.storedSize)
        try decompress(entry, stored: stored, into: output, context: context, verify: true)
    }

    private func decompress(_ entry: TensorEntry, stored: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                            context: Zstd.DecompressionContext?, verify: Bool) throws {
        do {
            try Zstd.decompress(stored, into: output, context: context)
        } catch let error as SAMQFormatError {
            throw SAMQFormatError.tensor(name: entry.name, fault: "\(error)")
        }
        if verify { try check(entry, UnsafeRawBufferPointer(output)) }
    }

    /// Copies the tensor's raw bytes into `output` (exactly `rawSize` bytes,
    /// caller owned), checksum verified: zstd tensors decompress straight
    /// into it, raw ones are copied from the map. No scratch buffer.
    public func readVerified(_ entry: TensorEntry, into output: UnsafeMutableRawBufferPointer,
                             context: Zstd.DecompressionContext? = nil) throws {
        switch entry.codec {
        case .zstd:
            try decompress(entry, into: output, context: context)
        case .raw:
            guard output.count == entry.rawSize else {
                throw SAMQFormatError.tensor(name: entry.name, fault: "needs \(entry.rawSize) bytes, buffer has \(output.count)")
            }
            let stored = try map.bytes(entry.offset..<entry.offset + entry.storedSize)
            try check(entry, stored)
            output.copyMemory(from: stored)
        }
    }

    /// A copy of the tensor's raw bytes, checksum verified.
    public func rawBytes(of name: String) throws -> [UInt8] {
        var scratch: [UInt8] = []
        return try withRawBytes(of: try entry(named: name), scratch: &scratch) { Array($0) }
    }

    /// The tensor as f32 in its logical shape: f16 is widened, packed int8 is
    /// dequantized back to `[n][k]` GEMM order mapped onto the logical shape.
    public func floats(_ name: String) throws -> [Float] {
        let entry = try entry(named: name)
        if entry.layout == .plain, entry.dtype == .f32, UInt32(littleEndian: 1) == 1 {
            // The stored bytes are the values (what `TensorDecoding` would
            // copy out of a scratch buffer): read them into the result.
            let count = entry.rawSize / 4
            return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                try readVerified(entry, into: UnsafeMutableRawBufferPointer(start: buffer.baseAddress, count: entry.rawSize))
                initialized = count
            }
        }
        var scratch: [UInt8] = []
        return try withRawBytes(of: entry, scratch: &scratch) { raw in
            try TensorDecoding.floats(entry: entry, raw: raw)
        }
    }

    /// Verifies every tensor's checksum; returns the number checked.
    @discardableResult
    public func verifyAll() throws -> Int {
        var scratch: [UInt8] = []
        let context = try Zstd.DecompressionContext()
        for entry in entries {
            try withRawBytes(of: entry, scratch: &scratch, context: context) { _ in }
            map.release(entry.offset..<entry.offset + entry.storedSize)
        }
        return entries.count
    }

    /// Returns the pages of a consumed tensor to the kernel.
    public func release(_ entry: TensorEntry) {
        map.release(entry.offset..<entry.offset + entry.storedSize)
    }

    /// Asks the kernel to start reading these tensors' bytes in the
    /// background (the streaming encoder's read-ahead of the next block).
    public func prefetch(_ entries: [TensorEntry]) {
        guard let first = entries.map(\.offset).min(),
              let end = entries.map({ $0.offset + $0.storedSize }).max() else { return }
        map.willNeed(first..<end)
    }

    private func check(_ entry: TensorEntry, _ raw: UnsafeRawBufferPointer) throws {
        let actual = XXHash64.hash(raw)
        guard actual == entry.checksum else {
            throw SAMQFormatError.checksumMismatch(name: entry.name, expected: entry.checksum, actual: actual)
        }
    }

    static func indexChecksum(headerPrefix: [UInt8], metadata: [UInt8], table: [UInt8]) -> UInt64 {
        XXHash64.hash(headerPrefix + metadata + table)
    }

    /// Structural checks that need no config: sizes, alignment, bounds, overlap.
    static func validate(_ entries: [TensorEntry], dataStart: Int, fileSize: Int) throws {
        var seen = Set<String>()
        for entry in entries {
            func fault(_ text: String) -> SAMQFormatError { .tensor(name: entry.name, fault: text) }
            guard seen.insert(entry.name).inserted else { throw SAMQFormatError.table("duplicate tensor '\(entry.name)'") }
            if entry.layout == .packedInt8 {
                guard entry.dtype == .i8, entry.gemmView != nil else { throw fault("packed layout needs i8 and a GEMM view") }
            } else {
                guard entry.dtype != .i8 else { throw fault("plain i8 tensors carry no scales and are not allowed") }
            }
            guard let expected = entry.expectedRawSize() else { throw fault("invalid shape \(entry.shape)") }
            guard entry.rawSize == expected else { throw fault("raw size \(entry.rawSize) does not match its shape (\(expected))") }
            guard entry.offset % entry.codec.alignment == 0 else {
                throw fault("offset \(entry.offset) is not \(entry.codec.alignment)-byte aligned")
            }
            guard entry.offset >= dataStart else { throw fault("data offset \(entry.offset) overlaps the index") }
            let (end, overflow) = entry.offset.addingReportingOverflow(entry.storedSize)
            guard !overflow, end <= fileSize else {
                throw fault("data \(entry.offset)..<\(entry.offset &+ entry.storedSize) lies past the end of the file (\(fileSize) bytes): truncated?")
            }
            switch entry.codec {
            case .raw: guard entry.storedSize == entry.rawSize else { throw fault("raw tensor stored size differs from its raw size") }
            case .zstd: guard entry.storedSize > 0 else { throw fault("empty zstd frame") }
            }
        }
        let sorted = entries.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.offset + a.storedSize > b.offset {
            throw SAMQFormatError.tensor(name: b.name, fault: "data overlaps tensor '\(a.name)'")
        }
    }

    /// Every tensor the config requires, with its exact shape, and nothing else.
    static func validate(_ entries: [TensorEntry], against schema: SAMSchema) throws {
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
        let expected = Set(schema.tensors.map(\.name))
        for tensor in schema.tensors {
            guard let entry = byName[tensor.name] else { throw SAMQFormatError.missingTensor(tensor.name) }
            guard entry.shape == tensor.shape else {
                throw SAMQFormatError.shapeMismatch(name: tensor.name, expected: tensor.shape, found: entry.shape)
            }
            if entry.layout == .packedInt8 {
                guard let view = tensor.gemmView, entry.gemmView == view else {
                    throw SAMQFormatError.tensor(name: tensor.name, fault: "is packed but is not a GEMM weight of this kind")
                }
            }
        }
        for entry in entries where !expected.contains(entry.name) {
            throw SAMQFormatError.unexpectedTensor(entry.name)
        }
    }
}
