import CKernels

/// LayerNorm for the decoder's image-sized tensors (`norm4` over 4096×256,
/// `output_upscaling.1` over 16384×64), on the C kernel
/// `samq_decoder_layernorm`.
///
/// `LayerNorm.applyInPlace` takes the moments in Double (closest to the
/// reference); here they are float32 with 8 partial sums, as PyTorch's own
/// float32 CPU kernel does: the difference is a few ulp of the mean and
/// variance, far inside the 1e-4 parity tolerance. (The kernel keeps the
/// exact arithmetic of the Swift SIMD8 code it replaced, which measured
/// ~1.6 ns per value on the upscaling rows.) Widths that are not a multiple
/// of 8 use `LayerNorm.applyInPlace`.
enum DecoderLayerNorm {
    /// The kernel family; every ISA gives identical bits, so any will do.
    private static let isa = samq_isa_best()

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
        x.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let chunk = 256
            Parallel.forEach(tasks: (rows + chunk - 1) / chunk) { t, _ in
                let r0 = t * chunk
                applyRows(norm, base + r0 * c, rows: min(chunk, rows - r0), gelu: gelu)
            }
        }
    }

    /// The same normalization (and GELU) on `rows` rows of `norm.dimension`
    /// floats at `base`, on the calling thread: a tile of a larger tensor gets
    /// exactly the values `applyInPlace` would give it.
    static func applyRows(_ norm: LayerNorm, _ base: UnsafeMutablePointer<Float>, rows: Int, gelu: Bool) {
        let c = norm.dimension
        guard c % 8 == 0 else {
            var copy = [Float](repeating: 0, count: c)   // LayerNorm.normalize copies first
            for r in 0..<rows {
                let row = base + r * c
                copy.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: row, count: c) }
                copy.withUnsafeBufferPointer { norm.normalize($0.baseAddress!, into: row) }
            }
            if gelu { DecoderGELU.apply(base, count: rows * c) }
            return
        }
        run(norm, base, rows: rows, gelu: gelu, codes: nil, ldq: 0, scales: nil)
    }

    /// `applyRows`, then each row quantized as `samq_quantize_rows` would
    /// (codes `ldq >= norm.dimension` apart, one scale per row) while it is
    /// still in L1: the rows get the same values, the codes the same bytes as
    /// the two passes, without a second sweep over the tile.
    static func applyRows(_ norm: LayerNorm, _ base: UnsafeMutablePointer<Float>, rows: Int, gelu: Bool,
                          quantizingInto codes: UnsafeMutablePointer<Int8>, ldq: Int,
                          scales: UnsafeMutablePointer<Float>) {
        let c = norm.dimension
        guard c % 8 == 0 else {
            applyRows(norm, base, rows: rows, gelu: gelu)
            samq_quantize_rows(isa, base, rows, c, c, codes, ldq, scales)
            return
        }
        run(norm, base, rows: rows, gelu: gelu, codes: codes, ldq: ldq, scales: scales)
    }

    private static func run(_ norm: LayerNorm, _ base: UnsafeMutablePointer<Float>, rows: Int, gelu: Bool,
                            codes: UnsafeMutablePointer<Int8>?, ldq: Int, scales: UnsafeMutablePointer<Float>?) {
        let c = norm.dimension
        let status = norm.weight.withUnsafeBufferPointer { w in
            norm.bias.withUnsafeBufferPointer { b in
                samq_decoder_layernorm(isa, base, rows, c, c, w.baseAddress, b.baseAddress, norm.epsilon,
                                       gelu ? SAMQ_DLN_GELU : 0, codes, ldq, scales)
            }
        }
        // The arguments are this type's own (weights of the norm's width, a
        // supported ISA): a failure is a programming error, not bad input.
        precondition(status == 0, "samq_decoder_layernorm rejected \(rows)×\(c) (ldq \(ldq))")
    }
}
