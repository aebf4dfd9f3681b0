/// Element type of a stored tensor.
public enum StoredDType: UInt8, Codable, Sendable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case i8 = 2

    public var byteWidth: Int {
        switch self {
        case .f32: return 4
        case .f16: return 2
        case .i8: return 1
        }
    }
    public var description: String {
        switch self {
        case .f32: return "f32"
        case .f16: return "f16"
        case .i8: return "i8"
        }
    }
}

/// How a tensor's raw bytes are arranged.
public enum TensorLayout: UInt8, Codable, Sendable, CustomStringConvertible {
    /// C order in the tensor's logical (PyTorch) shape.
    case plain = 0
    /// int8 GEMM weights in the kernels' panel layout, followed by per-channel
    /// scales and column sums. See `PackedInt8Layout` and docs/FORMAT.md.
    case packedInt8 = 1

    public var description: String {
        switch self {
        case .plain: return "plain"
        case .packedInt8: return "packed-i8"
        }
    }
}

/// How a tensor's raw bytes are stored in the file.
public enum TensorCodec: UInt8, Codable, Sendable, CustomStringConvertible {
    /// Stored as is, 4096-byte aligned, usable in place from the map.
    case raw = 0
    /// One independent zstd frame per tensor, 64-byte aligned.
    case zstd = 1

    public var description: String { self == .raw ? "raw" : "zstd" }
    public var alignment: Int { self == .raw ? 4096 : 64 }
}
