/// Conversions from a tensor's raw bytes to f32 values.
public enum TensorDecoding {
    public static func floats(entry: TensorEntry, raw: UnsafeRawBufferPointer) throws -> [Float] {
        switch (entry.layout, entry.dtype) {
        case (.plain, .f32):
            return Array(raw.bindMemory(to: Float.self))
        case (.plain, .f16):
            let halves = raw.bindMemory(to: UInt16.self)
            return halves.map { HalfPrecision.float(fromBits: UInt16(littleEndian: $0)) }
        case (.packedInt8, .i8):
            guard let layout = entry.packedLayout, let view = entry.gemmView else {
                throw SAMQFormatError.tensor(name: entry.name, fault: "packed tensor without GEMM geometry")
            }
            return dequantize(raw, layout: layout, view: view, shape: entry.shape)
        default:
            throw SAMQFormatError.tensor(name: entry.name, fault: "cannot decode \(entry.layout) \(entry.dtype)")
        }
    }

    /// Unpacks `[n][k]` int8 × scale and lays it out in the tensor's logical shape.
    static func dequantize(_ raw: UnsafeRawBufferPointer, layout: PackedInt8Layout, view: GemmView, shape: [Int]) -> [Float] {
        let weights = raw.bindMemory(to: Int8.self)
        let scales = UnsafeRawBufferPointer(rebasing: raw[layout.scalesOffset..<layout.scalesOffset + 4 * layout.paddedN])
        var out = [Float](repeating: 0, count: layout.n * layout.k)
        for column in 0..<layout.n {
            let scale = scales.loadUnaligned(fromByteOffset: 4 * column, as: Float.self)
            for k in 0..<layout.k {
                let value = Float(weights[layout.offset(column: column, k: k)]) * scale
                out[GemmIndexing.logicalIndex(view: view, shape: shape, n: column, k: k)] = value
            }
        }
        return out
    }
}

/// Where GEMM element `(n, k)` of a weight lives in its logical (PyTorch) shape.
public enum GemmIndexing {
    @inline(__always)
    public static func logicalIndex(view: GemmView, shape: [Int], n: Int, k: Int) -> Int {
        switch view {
        case .linear, .conv:
            // [out, in(, kh, kw)]: k is the flattened trailing index.
            let kCount = shape.dropFirst().reduce(1, *)
            return n * kCount + k
        case .convTranspose:
            // [in, out, kh, kw]: n flattens (out, kh, kw), k is `in`.
            let nCount = shape[1] * shape[2] * shape[3]
            return k * nCount + n
        }
    }
}
