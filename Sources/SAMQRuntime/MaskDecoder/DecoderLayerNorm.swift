/// LayerNorm for the decoder's image-sized tensors (`norm4` over 4096×256,
/// `output_upscaling.1` over 16384×64), in float32 SIMD.
///
/// `LayerNorm.applyInPlace` takes the moments in Double (closest to the
/// reference); here they are float32 with 8 partial sums, as PyTorch's own
/// float32 CPU kernel does: the difference is a few ulp of the mean and
/// variance, far inside the 1e-4 parity tolerance. Widths that are not a
/// multiple of 8 use `LayerNorm.applyInPlace`.
enum DecoderLayerNorm {
    typealias V = SIMD8<Float>

    /// With `gelu`, GELU (`DecoderGELU`) follows on each row while it is in cache.
    static func applyInPlace(_ norm: LayerNorm, _ x: inout [Float], gelu: Bool = false) {
        let c = norm.dimension
        guard c % 8 == 0 else {
            norm.applyInPlace(&x)
            if gelu { DecoderGELU.applyInPlace(&x) }
            return
        }
        precondition(x.count % c == 0, "internal LayerNorm on a ragged tensor")
        let rows = x.count / c
        let epsilon = norm.epsilon
        norm.weight.withUnsafeBufferPointer { w in
            norm.bias.withUnsafeBufferPointer { b in
                x.withUnsafeMutableBufferPointer { buffer in
                    let base = buffer.baseAddress!
                    let chunk = 256
                    Parallel.forEach(tasks: (rows + chunk - 1) / chunk) { t, _ in
                        for r in (t * chunk)..<min(rows, (t + 1) * chunk) {
                            normalizeRow(base + r * c, count: c, weight: w.baseAddress!, bias: b.baseAddress!,
                                         epsilon: epsilon)
                            if gelu { DecoderGELU.apply(base + r * c, count: c) }
                        }
                    }
                }
            }
        }
    }

    /// The same normalization (and GELU) on `rows` rows of `norm.dimension`
    /// floats at `base`, on the calling thread: a tile of a larger tensor gets
    /// exactly the values `applyInPlace` would give it.
    static func applyRows(_ norm: LayerNorm, _ base: UnsafeMutablePointer<Float>, rows: Int, gelu: Bool) {
        let c = norm.dimension
        norm.weight.withUnsafeBufferPointer { w in
            norm.bias.withUnsafeBufferPointer { b in
                var copy = c % 8 == 0 ? [] : [Float](repeating: 0, count: c)   // LayerNorm.normalize copies first
                for r in 0..<rows {
                    let row = base + r * c
                    if c % 8 == 0 {
                        normalizeRow(row, count: c, weight: w.baseAddress!, bias: b.baseAddress!, epsilon: norm.epsilon)
                    } else {
                        copy.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: row, count: c) }
                        copy.withUnsafeBufferPointer { norm.normalize($0.baseAddress!, into: row) }
                    }
                }
            }
        }
        if gelu { DecoderGELU.apply(base, count: rows * c) }
    }

    @inline(__always)
    private static func normalizeRow(_ p: UnsafeMutablePointer<Float>, count c: Int, weight: UnsafePointer<Float>,
                                     bias: UnsafePointer<Float>, epsilon: Float) {
        let raw = UnsafeMutableRawPointer(p)
        let w = UnsafeRawPointer(weight), b = UnsafeRawPointer(bias)
        var sum = V()
        var i = 0
        while i < c { sum += raw.loadUnaligned(fromByteOffset: 4 * i, as: V.self); i += 8 }
        let mean = sum.sum() / Float(c)
        var sq = V()
        i = 0
        while i < c {
            let d = raw.loadUnaligned(fromByteOffset: 4 * i, as: V.self) - mean
            sq += d * d
            i += 8
        }
        let inverse = 1 / (sq.sum() / Float(c) + epsilon).squareRoot()
        i = 0
        while i < c {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
            let y = (v - mean) * inverse * w.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
                + b.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
            raw.storeBytes(of: y, toByteOffset: 4 * i, as: V.self)
            i += 8
        }
    }
}
