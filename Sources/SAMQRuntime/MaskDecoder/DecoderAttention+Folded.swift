import CKernels

/// Cross-attention between a few tokens (N ≈ 7) and the image (h·w = 4096
/// rows), with the image-side projections folded into the token side.
///
/// Per head h the score is `(W_h x + b_h)·t = x·(W_hᵀ t) + b_h·t`, so instead
/// of projecting all 4096 image rows (4096×256×128 MACs per projection) the
/// ≤ 8N token-side vectors are mapped back to the model width (8N×16×256) and
/// the image rows meet them in one GEMM (4096×8N×256). Likewise on the value
/// side: softmax rows sum to one, so `Σ_j p_j (W x_j + b) = W (Σ_j p_j x_j) + b`,
/// and for image→token the value and output projections compose into one
/// `8N × C` matrix. Same mathematics as `attend`; only the order of the float
/// operations differs (well inside the 1e-4 parity tolerance).
extension DecoderAttention {
    private var headDim: Int { internalDim / heads }
    private var divisor: Float { Float(Double(internalDim / heads).squareRoot()) }

    /// token→image: `residual += out_proj(attention(q: q_proj(tokens), k: k_proj(keysWithPE), v: v_proj(values)))`.
    /// `tokens` is `[N][C]`, `keysWithPE` and `values` `[P][C]`, `residual` `[N][C]`.
    func accumulateTokenToImage(tokens: [Float], keysWithPE: [Float], values: [Float], into residual: inout [Float]) {
        let dim = qProj.inFeatures
        let pixels = keysWithPE.count / dim
        let (a, beta) = tokenToImageScoreOperands(tokens: tokens)
        let rows = beta.count
        // scores[h*N+i][j] = a·x_j + beta, / √hd, softmax over j.
        var scores = [Float](repeating: 0, count: rows * pixels)
        a.withUnsafeBufferPointer { ab in
            keysWithPE.withUnsafeBufferPointer { xb in
                scores.withUnsafeMutableBufferPointer { sb in
                    MatMul.f32(m: rows, n: pixels, k: dim, a: ab.baseAddress!, lda: dim, b: xb.baseAddress!, ldb: dim,
                               layout: .nk, c: sb.baseAddress!, ldc: pixels)
                }
            }
        }
        Self.addBiasAndSoftmax(&scores, rows: rows, beta: beta)
        accumulateWeightedValues(scores, values: values, tokenCount: tokens.count / dim, into: &residual)
    }

    /// The token→image tail shared by the f32 and int8 paths:
    /// `z[h*N+i][c] = Σ_j p[j] · values[j][c]` (f32), then `residual += out_proj(z)`.
    /// With `pool` (the int8 path) the product's 64-column blocks run on it
    /// (the pool does not wait for a worker that has not woken up, where the
    /// default split does); the same blocks and bits either way.
    func accumulateWeightedValues(_ scores: [Float], values: [Float], tokenCount: Int, into residual: inout [Float],
                                  pool: ThreadPool? = nil) {
        let dim = qProj.inFeatures
        let pixels = values.count / dim
        let rows = scores.count / max(pixels, 1)
        var z = [Float](repeating: 0, count: rows * dim)
        scores.withUnsafeBufferPointer { sb in
            values.withUnsafeBufferPointer { vb in
                z.withUnsafeMutableBufferPointer { zb in
                    let a = sb.baseAddress!, b = vb.baseAddress!, c = zb.baseAddress!
                    guard let pool else {
                        MatMul.f32(m: rows, n: dim, k: pixels, a: a, lda: pixels, b: b, ldb: dim, layout: .kn, c: c,
                                   ldc: dim)
                        return
                    }
                    let block = 64
                    pool.parallelFor(count: (dim + block - 1) / block) { t, _ in
                        let c0 = t * block, width = min(block, dim - c0)
                        MatMul.f32(m: rows, n: width, k: pixels, a: a, lda: pixels, b: b + c0, ldb: dim, layout: .kn,
                                   c: c + c0, ldc: dim, parallel: false)
                    }
                }
            }
        }
        outProj.accumulate(tokenToImageOutput(z, tokenCount: tokenCount), into: &residual)
    }

    /// The token side of token→image scores: `a[h*N+i][c] = Σ_d q[i][h*hd+d] · Wk[h*hd+d][c] / √hd`
    /// (`[8N][C]`) and `beta[h*N+i] = q_h[i]·bk_h / √hd`.
    func tokenToImageScoreOperands(tokens: [Float]) -> (a: [Float], beta: [Float]) {
        let dim = qProj.inFeatures, hd = headDim, h = heads
        let n = tokens.count / dim
        let rows = h * n
        let query = qProj(tokens)                                   // [N][I]
        var a = [Float](repeating: 0, count: rows * dim)
        var beta = [Float](repeating: 0, count: rows)
        let inverse = 1 / divisor
        let kBias = kProj.bias ?? [Float](repeating: 0, count: internalDim)
        query.withUnsafeBufferPointer { qb in
            kProj.weight.withUnsafeBufferPointer { wk in
                a.withUnsafeMutableBufferPointer { ab in
                    for head in 0..<h {
                        MatMul.f32(m: n, n: dim, k: hd, a: qb.baseAddress! + head * hd, lda: internalDim,
                                   b: wk.baseAddress! + head * hd * dim, ldb: dim, layout: .kn,
                                   c: ab.baseAddress! + head * n * dim, ldc: dim, parallel: false)
                        for i in 0..<n {
                            var s: Float = 0
                            for d in 0..<hd { s += qb[i * internalDim + head * hd + d] * kBias[head * hd + d] }
                            beta[head * n + i] = s * inverse
                        }
                    }
                    // 1/√hd folded into the score matrix (exact when √hd is a power of two, as in SAM).
                    for e in 0..<(rows * dim) { ab[e] *= inverse }
                }
            }
        }
        return (a, beta)
    }

    /// Adds `beta[r]` to score row r and applies softmax along the row, on
    /// `pool` if given.
    static func addBiasAndSoftmax(_ scores: inout [Float], rows: Int, beta: [Float], pool: ThreadPool? = nil) {
        let pixels = scores.count / max(rows, 1)
        scores.withUnsafeMutableBufferPointer { sb in
            let base = sb.baseAddress!
            let body = { (r: Int, _: Int) in
                let row = base + r * pixels
                let b = beta[r]
                for j in 0..<pixels { row[j] += b }
                Softmax.apply(row, count: pixels)
            }
            if let pool { pool.parallelFor(count: rows, body) } else { Parallel.forEach(tasks: rows, body) }
        }
    }

    /// `out[i][h*hd+d] = z[h*N+i]·Wv[h*hd+d] + bv`: the value projection applied
    /// after the attention-weighted image sum `z` (`[8N][C]`); returns `[N][I]`.
    func tokenToImageOutput(_ z: [Float], tokenCount n: Int) -> [Float] {
        let dim = qProj.inFeatures, hd = headDim
        var attended = [Float](repeating: 0, count: n * internalDim)
        z.withUnsafeBufferPointer { zb in
            vProj.weight.withUnsafeBufferPointer { wv in
                withOptionalPointer(vProj.bias) { bv in
                    attended.withUnsafeMutableBufferPointer { ob in
                        for head in 0..<heads {
                            MatMul.f32(m: n, n: hd, k: dim, a: zb.baseAddress! + head * n * dim, lda: dim,
                                       b: wv.baseAddress! + head * hd * dim, ldb: dim, layout: .nk,
                                       c: ob.baseAddress! + head * hd, ldc: internalDim,
                                       bias: bv.map { $0 + head * hd }, parallel: false)
                        }
                    }
                }
            }
        }
        return attended
    }

    /// The image side of image→token attention: the raw image rows with PE
    /// (`[P][C]`, projected here through `q_proj` folded) or rows already
    /// projected by `q_proj` (`[P][I]`, cached per image).
    enum ImageQueries {
        case raw([Float])
        case projected([Float])

        var isProjected: Bool {
            if case .projected = self { return true }
            return false
        }
    }

    /// image→token: `keys += out_proj(attention(q: q_proj(image), k: k_proj(tokensWithPE), v: v_proj(tokens)))`.
    ///
    /// Score columns are token-major (`i·8 + head`): one SIMD8 vector per token
    /// holds all 8 heads and the per-head softmax runs across vectors. Other
    /// head counts (not used by SAM) take the unfolded path.
    func accumulateImageToToken(image: ImageQueries, tokensWithPE: [Float], tokens: [Float], into keys: inout [Float]) {
        guard heads == 8 else {
            switch image {
            case .raw(let x): accumulate(q: x, k: tokensWithPE, v: tokens, into: &keys)
            case .projected(let q): accumulate(q: .projected(q), k: .raw(tokensWithPE), v: .raw(tokens), into: &keys)
            }
            return
        }
        let dim = qProj.inFeatures
        let pixels = keys.count / dim
        let (b, gamma, u, width) = imageToTokenOperands(projected: image.isProjected, tokensWithPE: tokensWithPE, tokens: tokens)
        let cols = gamma.count
        var scores = [Float](repeating: 0, count: pixels * cols)
        let x: [Float]
        switch image {
        case .raw(let values), .projected(let values): x = values
        }
        x.withUnsafeBufferPointer { xb in
            b.withUnsafeBufferPointer { bb in
                gamma.withUnsafeBufferPointer { gb in
                    scores.withUnsafeMutableBufferPointer { sb in
                        MatMul.f32(m: pixels, n: cols, k: width, a: xb.baseAddress!, lda: width, b: bb.baseAddress!,
                                   ldb: width, layout: .nk, c: sb.baseAddress!, ldc: cols, bias: gb.baseAddress!)
                        Self.softmaxRowsAcrossVectors(sb.baseAddress!, rows: pixels, columns: cols)
                    }
                }
            }
        }
        scores.withUnsafeBufferPointer { sb in
            u.withUnsafeBufferPointer { ub in
                withOptionalPointer(outProj.bias) { bo in
                    keys.withUnsafeMutableBufferPointer { kb in
                        MatMul.f32(m: pixels, n: dim, k: cols, a: sb.baseAddress!, lda: cols, b: ub.baseAddress!,
                                   ldb: dim, layout: .kn, c: kb.baseAddress!, ldc: dim, bias: bo, accumulate: true)
                    }
                }
            }
        }
    }

    /// The token side of image→token attention for 8 heads: the score matrix
    /// `b` (`[8N][width]`, nk layout; columns token-major `i·8 + head`), its
    /// bias `gamma`, and `u[i*8+h] = v_h[i]·Wo_h` (value and output projections
    /// composed, `[8N][C]`). `width` is C for raw image rows, I for rows
    /// already projected by `q_proj`.
    func imageToTokenOperands(projected: Bool, tokensWithPE: [Float],
                              tokens: [Float]) -> (b: [Float], gamma: [Float], u: [Float], width: Int) {
        let n = tokens.count / qProj.inFeatures
        // The score side (k_proj, then b and gamma) and the value side (v_proj,
        // then u) are independent: two tasks, so the cores share the weights'
        // stream from memory. Each side is the same computation wherever it runs.
        var scoreSide: (b: [Float], gamma: [Float], width: Int) = ([], [], 0)
        var u = [Float]()
        withUnsafeMutablePointer(to: &scoreSide) { score in
            withUnsafeMutablePointer(to: &u) { composed in
                Parallel.forEach(tasks: 2) { task, _ in
                    if task == 0 {
                        score.pointee = imageToTokenScoreMatrix(key: kProj(tokensWithPE), projected: projected, tokenCount: n)
                    } else {
                        composed.pointee = composedValueOutput(value: vProj(tokens), tokenCount: n)
                    }
                }
            }
        }
        return (scoreSide.b, scoreSide.gamma, u, scoreSide.width)
    }

    /// `b` and `gamma` of `imageToTokenOperands` from the projected keys `key` (`[N][I]`).
    private func imageToTokenScoreMatrix(key: [Float], projected: Bool,
                                         tokenCount n: Int) -> (b: [Float], gamma: [Float], width: Int) {
        let dim = qProj.inFeatures, hd = headDim, h = heads, inner = internalDim
        func slot(_ head: Int, _ i: Int) -> Int { i * h + head }
        let cols = h * n
        let inverse = 1 / divisor   // folded into the score matrix (exact when √hd is a power of two, as in SAM)
        // Score matrix b[i*8+h][·] (nk layout) and bias gamma[i*8+h].
        let width: Int
        var b: [Float]
        var gamma = [Float](repeating: 0, count: cols)
        if projected {
            // Block-diagonal: b[i*8+h][h*hd+d] = k[i][h*hd+d].
            width = inner
            b = [Float](repeating: 0, count: cols * inner)
            for head in 0..<h {
                for i in 0..<n {
                    for d in 0..<hd {
                        b[slot(head, i) * inner + head * hd + d] = key[i * inner + head * hd + d] * inverse
                    }
                }
            }
        } else {
            // b[i*8+h][c] = Σ_d k[i][h*hd+d] · Wq[h*hd+d][c];  gamma = bq_h·k_h[i]
            width = dim
            b = [Float](repeating: 0, count: cols * dim)
            let qBias = qProj.bias ?? [Float](repeating: 0, count: inner)
            key.withUnsafeBufferPointer { kb in
                qProj.weight.withUnsafeBufferPointer { wq in
                    b.withUnsafeMutableBufferPointer { bb in
                        for head in 0..<h {
                            MatMul.f32(m: n, n: dim, k: hd, a: kb.baseAddress! + head * hd, lda: inner,
                                       b: wq.baseAddress! + head * hd * dim, ldb: dim, layout: .kn,
                                       c: bb.baseAddress! + slot(head, 0) * dim, ldc: (slot(head, 1) - slot(head, 0)) * dim,
                                       parallel: false)
                            for i in 0..<n {
                                var s: Float = 0
                                for d in 0..<hd { s += kb[i * inner + head * hd + d] * qBias[head * hd + d] }
                                gamma[slot(head, i)] = s * inverse
                            }
                        }
                        for e in 0..<(cols * dim) { bb[e] *= inverse }
                    }
                }
            }
        }
        return (b, gamma, width)
    }

    /// `u` of `imageToTokenOperands` from the projected values `value` (`[N][I]`).
    private func composedValueOutput(value: [Float], tokenCount n: Int) -> [Float] {
        let dim = qProj.inFeatures, hd = headDim, h = heads, inner = internalDim
        func slot(_ head: Int, _ i: Int) -> Int { i * h + head }
        let cols = h * n
        // u[i*8+h][o] = Σ_d v[i][h*hd+d] · Wo[o][h*hd+d]  (value and output projections composed)
        var u = [Float](repeating: 0, count: cols * dim)
        value.withUnsafeBufferPointer { vb in
            outProj.weight.withUnsafeBufferPointer { wo in
                u.withUnsafeMutableBufferPointer { ub in
                    for head in 0..<h {
                        MatMul.f32(m: n, n: dim, k: hd, a: vb.baseAddress! + head * hd, lda: inner,
                                   b: wo.baseAddress! + head * hd, ldb: inner, layout: .nk,
                                   c: ub.baseAddress! + slot(head, 0) * dim, ldc: (slot(head, 1) - slot(head, 0)) * dim,
                                   parallel: false)
                    }
                }
            }
        }
        return u
    }
}

extension DecoderAttention {
    /// Softmax per head on every row of a `rows × columns` score matrix
    /// (columns token-major, 8 heads per token: each head across the tokens,
    /// `samq_softmax_lanes8`), split over the workers.
    static func softmaxRowsAcrossVectors(_ scores: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        let chunk = 256
        Parallel.forEach(tasks: (rows + chunk - 1) / chunk) { t, _ in
            let r0 = t * chunk
            samq_softmax_lanes8(samq_isa_best(), scores + r0 * columns, min(chunk, rows - r0), columns / 8, columns)
        }
    }
}

