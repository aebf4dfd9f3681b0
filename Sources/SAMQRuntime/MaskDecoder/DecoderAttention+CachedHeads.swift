/// Layer 0's token→image attention on image-side projections cached per
/// image (`TwoWayImagePrefix`), stored per head so that each head's products
/// stream contiguous memory: keys transposed (`[heads][hd][P]`, a `[K][N]`
/// score product: 16 contiguous pixels per vector instead of a horizontal
/// sum per 4×4 tile) and values head-major (`[heads][P][hd]`). With the
/// `[P][I]` rows every head read one 64-byte line out of every 512-byte row:
/// 4× slower than these layouts in a decode (1.9 ms of a vit_b decode).
/// The same mathematics as `attend`; only the summation order of the scores
/// differs (float rounding).
extension DecoderAttention {
    /// Per-head keys `[heads][hd][P]` from projected keys `[P][I]`: channel
    /// `head · hd + d` is row `c` of `[I][P]`, so this is the plain transpose
    /// (banded and parallel; an element-wise scatter with a division per
    /// value was ~4 ms of vit_t's first decode on an image).
    func headKeys(_ projected: [Float]) -> [Float] {
        Tensor.transpose(projected, rows: projected.count / internalDim, cols: internalDim)
    }

    /// Per-head values `[heads][P][hd]` from projected values `[P][I]`.
    func headValues(_ projected: [Float]) -> [Float] {
        let hd = internalDim / heads, pixels = projected.count / internalDim
        var out = [Float](repeating: 0, count: projected.count)
        projected.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for head in 0..<heads {
                    for p in 0..<pixels {
                        (dst.baseAddress! + (head * pixels + p) * hd)
                            .update(from: src.baseAddress! + p * internalDim + head * hd, count: hd)
                    }
                }
            }
        }
        return out
    }

    /// `residual += out_proj(attention(q_proj(tokens), keys, values))` with
    /// `keys` from `headKeys` and `values` from `headValues`.
    func accumulateTokenToImage(tokens: [Float], headKeys keys: [Float], headValues values: [Float],
                                into residual: inout [Float]) {
        let query = qProj(tokens)
        let n = query.count / internalDim, hd = internalDim / heads, pixels = keys.count / internalDim
        precondition(keys.count == values.count && pixels * internalDim == keys.count, "internal: cached head sizes")
        let divisor = Float(Double(hd).squareRoot())   // math.sqrt(c_per_head)
        var out = [Float](repeating: 0, count: n * internalDim)
        let workers = Parallel.workerCount(tasks: heads)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * n * pixels)
        defer { scratch.deallocate() }
        query.withUnsafeBufferPointer { qb in
            keys.withUnsafeBufferPointer { kb in
                values.withUnsafeBufferPointer { vb in
                    out.withUnsafeMutableBufferPointer { ob in
                        let qBase = qb.baseAddress!, kBase = kb.baseAddress!, vBase = vb.baseAddress!
                        let oBase = ob.baseAddress!
                        Parallel.forEach(tasks: heads) { head, worker in
                            let scores = scratch + worker * n * pixels
                            MatMul.f32(m: n, n: pixels, k: hd, a: qBase + head * hd, lda: internalDim,
                                       b: kBase + head * hd * pixels, ldb: pixels, layout: .kn,
                                       c: scores, ldc: pixels, parallel: false)
                            for r in 0..<n {
                                let row = scores + r * pixels
                                for j in 0..<pixels { row[j] = row[j] / divisor }
                                Softmax.apply(row, count: pixels)
                            }
                            MatMul.f32(m: n, n: hd, k: pixels, a: scores, lda: pixels,
                                       b: vBase + head * pixels * hd, ldb: hd, layout: .kn,
                                       c: oBase + head * hd, ldc: internalDim, parallel: false)
                        }
                    }
                }
            }
        }
        outProj.accumulate(out, into: &residual)
    }
}
