import CKernels

/// token→image attention on the int8 kernels, streamed over chunks of pixels
/// (the "flash" order): each chunk's scores and values are computed, turned
/// into a partial softmax (its own maximum, sum and weighted value sum per
/// score row) and dropped; the partials are merged at the end. No `[8N][P]`
/// probability matrix, no transposing softmax pass, and no f32 image rows
/// are read: both operands are the image rows already quantized by the block
/// that produced them (`keys + PE` for the scores, `keys` for the values).
///
/// The values are projected (`v_proj`, int8) per chunk instead of folded
/// into `P·keys` (8N·C f32 MACs per pixel, ~59 M for vit_b): per pixel that
/// is C·I int8 MACs, which the VNNI kernels run in about a third of the time,
/// and the per-head `P_h·v_h` is 8N·hd MACs. P stays f32 throughout.
extension DecoderAttention {
    /// Pixels per task: its scores and values (`[chunk][8N]` and
    /// `[chunk][I]`, ~92 KB for vit_b) stay in L2.
    static let streamedChunk = 128

    /// `residual += out_proj(attention(q_proj(tokens), k_proj(keys + PE), v_proj(keys)))`
    /// with `keys + PE` and `keys` given quantized per row and `v_proj` on
    /// the int8 kernels. The scores use the folded operands of
    /// `tokenToImageScoreOperands`, as the other int8 entry points.
    func accumulateTokenToImage(tokens: [Float], quantizedKeys: QuantizedRows, quantizedValues: QuantizedRows,
                                valueProjection: QuantizedLinear, into residual: inout [Float],
                                int8 context: Int8Context) throws {
        let dim = qProj.inFeatures, inner = internalDim, hd = internalDim / heads
        let (a, beta) = tokenToImageScoreOperands(tokens: tokens)
        let rows = beta.count, n = rows / heads, pixels = quantizedKeys.rows
        let packedA = try a.withUnsafeBufferPointer {
            try PackedInt8Matrix(packingRows: $0.baseAddress!, rows: rows, cols: dim, ld: dim, name: "token→image scores")
        }
        guard quantizedKeys.cols == dim, quantizedValues.rows == pixels, quantizedValues.cols == dim,
              valueProjection.inFeatures == dim, valueProjection.outFeatures == inner,
              quantizedKeys.paddedK == packedA.layout.paddedK,
              quantizedValues.paddedK == valueProjection.weight.layout.paddedK else {
            throw Int8RuntimeError.shapeMismatch(what: "streamed token→image operands", expected: pixels * dim,
                                                 actual: quantizedValues.rows * quantizedValues.cols)
        }
        let chunk = Self.streamedChunk, tasks = (pixels + chunk - 1) / chunk
        let isa = context.isa, space = context.workspace
        let scoreBytes = roundUp(4 * chunk * rows, 64), valueBytes = roundUp(4 * chunk * inner, 64)
        // Per task and score row: the chunk's maximum, sum of exponentials and
        // exponential-weighted value sum (`hd` floats).
        var maxima = [Float](repeating: 0, count: tasks * rows)
        var sums = [Float](repeating: 0, count: tasks * rows)
        var weighted = [Float](repeating: 0, count: tasks * rows * hd)
        space.resetStatus()
        beta.withUnsafeBufferPointer { betaBuffer in
            withOptionalPointer(valueProjection.bias) { valueBias in
                maxima.withUnsafeMutableBufferPointer { mb in
                    sums.withUnsafeMutableBufferPointer { lb in
                        weighted.withUnsafeMutableBufferPointer { wb in
                            let m = mb.baseAddress!, l = lb.baseAddress!, w = wb.baseAddress!
                            context.pool.parallelFor(count: tasks) { task, worker in
                                let p0 = task * chunk, count = min(chunk, pixels - p0)
                                let raw = space.perWorker[worker].reserve(bytes: scoreBytes + valueBytes)
                                let s = raw.assumingMemoryBound(to: Float.self)
                                let v = (raw + scoreBytes).assumingMemoryBound(to: Float.self)
                                var status = Int8GEMM.run(
                                    isa: isa, m: count, n: rows, k: dim, a: quantizedKeys.values + p0 * quantizedKeys.paddedK,
                                    lda: quantizedKeys.paddedK, rowScales: quantizedKeys.scales + p0,
                                    weights: packedA.payload, bias: betaBuffer.baseAddress, residual: nil, ldr: rows,
                                    c: s, ldc: rows, gelu: false, rows: 0..<count, columns: 0..<rows)
                                status |= Int8GEMM.run(
                                    isa: isa, m: count, n: inner, k: dim,
                                    a: quantizedValues.values + p0 * quantizedValues.paddedK,
                                    lda: quantizedValues.paddedK, rowScales: quantizedValues.scales + p0,
                                    weights: valueProjection.weight.payload, bias: valueBias, residual: nil, ldr: inner,
                                    c: v, ldc: inner, gelu: false, rows: 0..<count, columns: 0..<inner)
                                if status != 0 { space.status[worker] = status; return }
                                // Rows h·N ..< (h+1)·N belong to head h.
                                samq_softmax_partial(isa.raw, s, count, rows, n, v, inner, hd, m + task * rows,
                                                     l + task * rows, w + task * rows * hd)
                            }
                        }
                    }
                }
            }
        }
        if space.failed { throw Int8RuntimeError.kernelRejected("streamed token→image gemm (\(pixels) pixels)") }
        // Merge the chunks: z_r = Σ_t e^(m_t − M) · w_t / Σ_t e^(m_t − M) · l_t.
        var attended = [Float](repeating: 0, count: n * inner)
        var z = [Float](repeating: 0, count: hd)
        for r in 0..<rows {
            var top = -Float.infinity
            for t in 0..<tasks { top = max(top, maxima[t * rows + r]) }
            var total: Float = 0
            for d in 0..<hd { z[d] = 0 }
            for t in 0..<tasks {
                let factor = Softmax.exp(maxima[t * rows + r] - top)   // ≤ 1: the chunk's share of the row
                total += factor * sums[t * rows + r]
                for d in 0..<hd { z[d] += factor * weighted[(t * rows + r) * hd + d] }
            }
            let head = r / n, i = r % n, inverse = 1 / total
            for d in 0..<hd { attended[i * inner + head * hd + d] = z[d] * inverse }
        }
        outProj.accumulate(attended, into: &residual)
    }
}
