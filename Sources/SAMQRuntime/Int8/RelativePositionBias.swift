import CKernels

/// The decomposed relative-position tables of one attention layer
/// (`get_rel_pos` already applied): `rel_h[q_h, q_w, k_h] = Σ_c q·Rh[q_h, k_h, c]`,
/// likewise `rel_w`, added to the logits as `rel_h[k_h] + rel_w[k_w]`.
///
/// Only square grids with as many keys as queries occur in SAM's encoder
/// (a 14×14 window or the 64×64 global grid), so one `size` describes both.
public struct RelativePositionBias: Sendable {
    /// Side of the attended grid: `tokens == size * size`.
    public let size: Int
    public let headDim: Int
    /// `[size (q_h)][size (k_h)][headDim]`.
    public let tableH: [Float]
    /// `[size (q_w)][size (k_w)][headDim]`.
    public let tableW: [Float]
    /// The tables times log2(e), each line's `size × headDim` slice stored
    /// transposed (`[line][headDim][size]`). Base 2: the attention works with
    /// base-2 logits and the projection is linear in the table, so scaling
    /// once here is free. Transposed: the f32 GEMM's `[K][N]` tile broadcasts
    /// query values against contiguous table rows; with `[N][K]` every output
    /// was a 64-long dot product ending in a horizontal sum (measured: the
    /// projection went from 4.2% to 3.0% of a vit_b encode; the embedding's
    /// SQNR against f32 is unchanged, 30.2 dB on the random vit_b).
    let log2TableH: [Float]
    let log2TableW: [Float]

    /// From gathered tables, as `get_rel_pos(size, size, rel_pos)` returns them.
    public init(size: Int, headDim: Int, tableH: [Float], tableW: [Float]) throws(Int8RuntimeError) {
        guard size > 0, headDim > 0 else { throw .invalidConfiguration("rel-pos size \(size), head dim \(headDim)") }
        let count = size * size * headDim
        guard tableH.count == count else { throw .shapeMismatch(what: "rel_pos_h table", expected: count, actual: tableH.count) }
        guard tableW.count == count else { throw .shapeMismatch(what: "rel_pos_w table", expected: count, actual: tableW.count) }
        self.size = size
        self.headDim = headDim
        self.tableH = tableH
        self.tableW = tableW
        log2TableH = Self.transposedLines(tableH, size: size, headDim: headDim)
        log2TableW = Self.transposedLines(tableW, size: size, headDim: headDim)
    }

    /// From the raw `rel_pos_h` / `rel_pos_w` parameters (`[length][headDim]`),
    /// resized and gathered exactly as the f32 encoder does.
    public init(size: Int, headDim: Int, relPosH: [Float], relPosW: [Float]) throws(Int8RuntimeError) {
        guard size > 0, headDim > 0, relPosH.count % headDim == 0, relPosW.count % headDim == 0,
              !relPosH.isEmpty, !relPosW.isEmpty else {
            throw .invalidConfiguration("rel_pos tables of \(relPosH.count) and \(relPosW.count) values for head dim \(headDim)")
        }
        let h = RelativePosition.gather(querySize: size, keySize: size, table: relPosH, length: relPosH.count / headDim,
                                        channels: headDim)
        let w = RelativePosition.gather(querySize: size, keySize: size, table: relPosW, length: relPosW.count / headDim,
                                        channels: headDim)
        try self.init(size: size, headDim: headDim, tableH: h, tableW: w)
    }

    static let log2e: Float = 1.44269504088896341

    /// `[line][k][c]` → `[line][c][k]`, times log2(e).
    private static func transposedLines(_ table: [Float], size: Int, headDim: Int) -> [Float] {
        var out = [Float](repeating: 0, count: table.count)
        for line in 0..<size {
            let base = line * size * headDim
            for k in 0..<size {
                for c in 0..<headDim { out[base + c * size + k] = table[base + k * headDim + c] * log2e }
            }
        }
        return out
    }

    /// Computes, for every token of one (batch, head), its `rel_h` row
    /// (`size` values) and `rel_w` row into `relH` / `relW` (`[tokens][size]`),
    /// in base-2 units (times log2(e)).
    ///
    /// Queries sharing a grid row share the `Rh[q_h]` table and queries sharing
    /// a grid column share `Rw[q_w]`, so each is one `size × size × headDim`
    /// f32 GEMM rather than a matrix-vector product per query.
    func project(queries q: UnsafePointer<Float>, ldq: Int, isa: KernelISA,
                 relH: UnsafeMutablePointer<Float>, relW: UnsafeMutablePointer<Float>) -> Int32 {
        var status: Int32 = 0
        log2TableH.withUnsafeBufferPointer { th in
            log2TableW.withUnsafeBufferPointer { tw in
                for line in 0..<size {
                    // rel_h of grid row `line`: its queries are contiguous tokens.
                    status |= Self.sgemm(isa: isa, m: size, n: size, k: headDim, a: q + line * size * ldq, lda: ldq,
                                         b: th.baseAddress! + line * size * headDim, c: relH + line * size * size,
                                         ldc: size)
                    // rel_w of grid column `line`: tokens line, line + size, ...
                    status |= Self.sgemm(isa: isa, m: size, n: size, k: headDim, a: q + line * ldq, lda: size * ldq,
                                         b: tw.baseAddress! + line * size * headDim, c: relW + line * size,
                                         ldc: size * size)
                }
            }
        }
        return status
    }

    private static func sgemm(isa: KernelISA, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                              b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int) -> Int32 {
        var args = samq_sgemm_args()
        args.M = m; args.N = n; args.K = k
        args.A = a; args.lda = lda
        args.B = b; args.ldb = n
        args.flags = UInt32(SAMQ_SGEMM_B_KN)
        args.C = c; args.ldc = ldc
        args.m_begin = 0; args.m_end = m
        args.n_begin = 0; args.n_end = n
        return samq_sgemm(isa.raw, &args)
    }

    /// Fills `rows` score rows with `rel_h[k_h] + rel_w[k_w]` (the logits are
    /// then added by the GEMM epilogue through its residual input).
    func fill(scores: UnsafeMutablePointer<Float>, lds: Int, rows: Int,
              relH: UnsafePointer<Float>, relW: UnsafePointer<Float>, isa: KernelISA) {
        samq_relpos_fill(isa.raw, scores, lds, rows, size, relH, relW)
    }
}
