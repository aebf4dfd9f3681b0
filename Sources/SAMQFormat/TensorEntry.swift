/// One row of the tensor table: what a tensor is and where its bytes live.
public struct TensorEntry: Equatable, Sendable {
    public var name: String
    public var dtype: StoredDType
    public var layout: TensorLayout
    public var codec: TensorCodec
    /// Logical PyTorch shape; packed tensors keep their original shape here.
    public var shape: [Int]
    /// Absolute file offset of the stored bytes.
    public var offset: Int
    public var storedSize: Int
    public var rawSize: Int
    /// XXH64 of the raw (decompressed) bytes.
    public var checksum: UInt64
    /// How a packed tensor maps onto the GEMM (nil for plain tensors).
    public var gemmView: GemmView?

    public init(name: String, dtype: StoredDType, layout: TensorLayout, codec: TensorCodec, shape: [Int],
                gemmView: GemmView? = nil, offset: Int = 0, storedSize: Int = 0, rawSize: Int = 0,
                checksum: UInt64 = 0) {
        self.name = name; self.dtype = dtype; self.layout = layout; self.codec = codec; self.shape = shape
        self.gemmView = gemmView; self.offset = offset; self.storedSize = storedSize
        self.rawSize = rawSize; self.checksum = checksum
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// The packed geometry of a `packedInt8` tensor.
    public var packedLayout: PackedInt8Layout? {
        guard layout == .packedInt8, let view = gemmView, let (n, k) = view.dimensions(of: shape) else { return nil }
        return PackedInt8Layout(n: n, k: k)
    }

    /// The raw byte size implied by dtype, layout and shape, or nil when the
    /// shape is invalid or the size overflows.
    public func expectedRawSize() -> Int? {
        guard !shape.isEmpty, shape.count <= SAMQLimits.maxRank, shape.allSatisfy({ $0 > 0 }) else { return nil }
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= SAMQLimits.maxElements else { return nil }
            count = product
        }
        switch layout {
        case .plain:
            return count * dtype.byteWidth
        case .packedInt8:
            guard dtype == .i8, let view = gemmView, let (n, k) = view.dimensions(of: shape) else { return nil }
            return PackedInt8Layout.checkedTotalBytes(n: n, k: k)
        }
    }
}

/// Hard limits that keep a hostile file from steering allocations.
public enum SAMQLimits {
    public static let maxRank = 8
    public static let maxNameLength = 512
    public static let maxTensorCount = 100_000
    public static let maxMetadataBytes = 16 << 20
    public static let maxTableBytes = 64 << 20
    /// 2^36 elements (256 GiB of f32) is far beyond any SAM tensor.
    public static let maxElements = 1 << 36
}
