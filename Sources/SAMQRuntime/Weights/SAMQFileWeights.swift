import SAMQFormat

/// Weights served from a `.samq` file. Tensors are decoded on request (f16
/// widened, packed int8 dequantized), so the f32 reference path can run any
/// `.samq`, quantized or not.
public final class SAMQFileWeights: WeightProvider {
    public let file: SAMQFile

    public init(file: SAMQFile) { self.file = file }

    public convenience init(path: String) throws { self.init(file: try SAMQFile(path: path)) }

    public var config: ModelConfig { file.config }

    /// The file is an immutable mapping; every read decompresses into its own
    /// buffers with its own zstd context.
    public var allowsConcurrentReads: Bool { true }

    public func floats(_ name: String) throws -> [Float] {
        let values = try file.floats(name)
        if let entry = try? file.entry(named: name) { file.release(entry) }
        return values
    }

    public func shape(_ name: String) -> [Int]? { try? file.entry(named: name).shape }

    /// The stored little-endian f16 bits, decompressed (checksum verified)
    /// straight into the returned array: no scratch buffer, and on a
    /// little-endian host no per-element pass (a per-element map was ~10 ms of
    /// a vit_t load). A big-endian host swaps in place.
    public func halfPrecisionBits(_ name: String) throws -> [UInt16]? {
        let entry = try file.entry(named: name)
        guard entry.dtype == .f16, entry.layout == .plain else { return nil }
        let count = entry.rawSize / 2   // the table's raw size is 2 bytes per element (checked at open)
        var bits = try [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
            try file.readVerified(entry, into: UnsafeMutableRawBufferPointer(start: buffer.baseAddress, count: entry.rawSize))
            initialized = count
        }
        if UInt16(littleEndian: 1) != 1 {
            for i in bits.indices { bits[i] = UInt16(littleEndian: bits[i]) }
        }
        file.release(entry)
        return bits
    }
}
