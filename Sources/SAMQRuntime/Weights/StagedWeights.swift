import SAMQFormat

/// The tensors of one encoder block, decoded ahead of use by the streaming
/// encoder. Packed int8 weights stored with zstd are decompressed into an
/// arena slot (no allocation per block); raw-codec ones are used in place
/// from the map; every other tensor (norms, biases, rel-pos tables) becomes
/// f32. Every tensor's checksum is verified as it is decoded, so a corrupt
/// block stops the encode with an error naming the tensor.
final class StagedWeights: PackedWeightSource {
    let config: ModelConfig
    private let file: SAMQFile
    private var values: [String: [Float]] = [:]
    private var packed: [String: PackedInt8Matrix] = [:]
    /// Raw-codec tensors still read from the map: release them once the block has run.
    private(set) var borrowedEntries: [TensorEntry] = []

    /// Decodes `entries` of `file`, zstd packed payloads into `arena`, which
    /// must hold `StagedWeights.arenaBytes(for: entries)` bytes and stay
    /// untouched while the staged weights are in use.
    init(file: SAMQFile, entries: [TensorEntry], arena: AlignedBuffer, context: Zstd.DecompressionContext) throws {
        self.file = file
        config = file.config
        let needed = Self.arenaBytes(for: entries)
        guard arena.byteCount >= needed else {
            throw SAMRuntimeError.invalidConfig("weight arena of \(arena.byteCount) bytes cannot hold \(needed)")
        }
        var offset = 0
        var scratch: [UInt8] = []
        for entry in entries {
            switch (entry.layout, entry.codec) {
            case (.packedInt8, .zstd):
                guard let layout = entry.packedLayout else { throw Int8RuntimeError.invalidPackedWeight(name: entry.name, fault: "no GEMM geometry") }
                let slot = UnsafeMutableRawBufferPointer(start: arena.raw + offset, count: entry.rawSize)
                try file.decompress(entry, into: slot, context: context)
                packed[entry.name] = try PackedInt8Matrix(borrowing: UnsafeRawBufferPointer(slot), n: layout.n, k: layout.k,
                                                          name: entry.name, owner: arena)
                offset += roundUp(entry.rawSize, 64)
                file.release(entry)
            case (.packedInt8, .raw):
                packed[entry.name] = try PackedInt8Matrix(file: file, name: entry.name)
                borrowedEntries.append(entry)
            default:
                values[entry.name] = try file.withRawBytes(of: entry, scratch: &scratch, context: context) { raw in
                    try TensorDecoding.floats(entry: entry, raw: raw)
                }
                file.release(entry)
            }
        }
    }

    /// Arena bytes needed to stage `entries`: their zstd packed payloads, 64-byte aligned.
    static func arenaBytes(for entries: [TensorEntry]) -> Int {
        entries.filter { $0.layout == .packedInt8 && $0.codec == .zstd }.reduce(0) { $0 + roundUp($1.rawSize, 64) }
    }

    func keepsFloat32(_ name: String) -> Bool { file.keepsFloat32(name) }

    func floats(_ name: String) throws -> [Float] {
        if let value = values[name] { return value }
        guard let matrix = packed[name] else { throw SAMRuntimeError.missingWeight(name: name) }
        // The f32 encoder on an int8 file: dequantize the staged payload.
        let entry = try file.entry(named: name)
        return try TensorDecoding.floats(entry: entry, raw: UnsafeRawBufferPointer(start: matrix.payload,
                                                                                    count: matrix.layout.totalBytes))
    }

    func shape(_ name: String) -> [Int]? {
        guard values[name] != nil || packed[name] != nil else { return nil }
        return try? file.entry(named: name).shape
    }

    func packedMatrix(named name: String, view: GemmView, shape: [Int]) throws -> PackedInt8Matrix? {
        guard let matrix = packed[name] else { return nil }
        let entry = try file.entry(named: name)
        guard entry.shape == shape, entry.gemmView == view else {
            throw SAMRuntimeError.weightShapeMismatch(name: name, expected: shape, actual: entry.shape)
        }
        return matrix
    }
}
