import CKernels

/// The folded cross-attentions (`DecoderAttention+Folded`) on the int8
/// kernels: same operands and softmax, with the image-sized products of each
/// attention in W8A8. Every image row gets its own int8 scale (as a per-row
/// activation, or as a packed "weight" column: token→image scores, where the
/// 4096 pixels are the output columns); the small prompt-dependent operands
/// are quantized per row/column and packed per call (`PanelPacker`). The
/// score products are int8; both P·V products stay f32 (see there: softmax
/// probabilities on 127 levels cost mask accuracy on trained weights).
extension DecoderAttention {
    /// token→image in int8; see `accumulateTokenToImage(tokens:keysWithPE:values:into:)`.
    func accumulateTokenToImage(tokens: [Float], keysWithPE: [Float], values: [Float], into residual: inout [Float],
                                int8 context: Int8Context) throws {
        let dim = qProj.inFeatures
        let pixels = keysWithPE.count / dim
        let (a, beta) = tokenToImageScoreOperands(tokens: tokens)
        let rows = beta.count
        // scores[h*N+i][j] = a[h*N+i]·x_j with the image rows packed as the GEMM
        // "weight" (one scale per pixel, like per-row activations), so the
        // scores come out row-major for the softmax and P·V, untransposed.
        let packedX = try keysWithPE.withUnsafeBufferPointer {
            try PackedInt8Matrix(packingRows: $0.baseAddress!, rows: pixels, cols: dim, ld: dim,
                                 name: "token→image keys", pool: context.pool)
        }
        var scores = try QuantizedLinear(weight: packedX, bias: nil, context: context)(a)
        Self.addBiasAndSoftmax(&scores, rows: rows, beta: beta, pool: context.pool)
        // z = P·V stays f32: P is a softmax over all 4096 pixels, and on trained
        // weights it is peaked, so a per-row int8 P (127 levels) drops the tail
        // mass (measured on the demo model: best-mask IoU 0.972 → 0.981 against
        // f32, docs/ACCURACY.md). In f32 it needs no packing of V either, which
        // cost about as much as the product.
        accumulateWeightedValues(scores, values: values, tokenCount: tokens.count / dim, into: &residual,
                                 pool: context.pool)
    }

    /// token→image in int8 with the image rows (`keys + PE`) already
    /// quantized: the same int8 operands and arithmetic as the f32-rows entry
    /// point, in the other orientation. The image rows are the GEMM's
    /// activations (their quantized bytes and per-row scales as they are) and
    /// the ≤ 56 token-side rows the packed "weight" (the same quantization
    /// rule, `samq_quantize_rows`'), so every int32 sum and scale product is
    /// the same and the scores come out transposed, `[P][8N]`: the shape the
    /// int8 kernel runs ~3× faster than `[8N][P]` (4096 rows in row tiles
    /// instead of ~7 tiles of few rows), and the 1 MB image rows are never
    /// packed. The softmax reads them back by column.
    func accumulateTokenToImage(tokens: [Float], quantizedKeys: QuantizedRows, values: [Float],
                                into residual: inout [Float], int8 context: Int8Context) throws {
        let dim = qProj.inFeatures
        let (a, beta) = tokenToImageScoreOperands(tokens: tokens)
        let rows = beta.count, pixels = quantizedKeys.rows
        let packedA = try a.withUnsafeBufferPointer {
            try PackedInt8Matrix(packingRows: $0.baseAddress!, rows: rows, cols: dim, ld: dim, name: "token→image scores")
        }
        let transposed = try QuantizedLinear(weight: packedA, bias: nil, context: context)(quantizedKeys)
        let scores = Self.biasAndSoftmax(columns: transposed, pixels: pixels, rows: rows, beta: beta, pool: context.pool)
        accumulateWeightedValues(scores, values: values, tokenCount: tokens.count / dim, into: &residual,
                                 pool: context.pool)
    }

    /// `[rows][pixels]` from `[pixels][rows]` scores: row r is column r plus
    /// `beta[r]`, softmaxed (the arithmetic of `addBiasAndSoftmax`).
    static func biasAndSoftmax(columns transposed: [Float], pixels: Int, rows: Int, beta: [Float],
                               pool: ThreadPool) -> [Float] {
        precondition(transposed.count == pixels * rows && beta.count == rows, "internal: score sizes")
        return [Float](unsafeUninitializedCapacity: rows * pixels) { out, initialized in
            transposed.withUnsafeBufferPointer { src in
                if let base = out.baseAddress, let s = src.baseAddress {
                    pool.parallelFor(count: rows) { r, _ in
                        let row = base + r * pixels, b = beta[r]
                        for j in 0..<pixels { row[j] = s[j * rows + r] + b }
                        Softmax.apply(row, count: pixels)
                    }
                }
            }
            initialized = rows * pixels
        }
    }

    /// image→token in int8 (8 heads) with the image rows already quantized:
    /// raw `keys + PE` rows (`projected == false`, width C) or rows projected
    /// by `q_proj` (width I, cached per image). Same arithmetic as the f32-rows
    /// entry point; `keys` ends normalized by `norm` (the block's `norm4`).
    /// With `pe`, also returns the new `keys + pe` quantized per row (what
    /// `QuantizedImageRows.keysWithPE` would make of them), for the next
    /// cross-attention; with `quantizingPlain` too, the new keys themselves
    /// (the values of a streamed token→image attention).
    func accumulateImageToToken(quantizedImage x: QuantizedRows, projected: Bool, tokensWithPE: [Float],
                                tokens: [Float], into keys: inout [Float], norm: LayerNorm, quantizingWith pe: [Float]?,
                                quantizingPlain: Bool = false, residualSource: DeferredKeys? = nil,
                                int8 context: Int8Context) throws -> QuantizedImageKeys? {
        guard heads == 8 else {
            throw Int8RuntimeError.invalidConfiguration("quantized image→token attention needs 8 heads, not \(heads)")
        }
        let dim = qProj.inFeatures
        let pixels = keys.count / dim
        let (b, gamma, u, width) = imageToTokenOperands(projected: projected, tokensWithPE: tokensWithPE, tokens: tokens)
        guard x.rows == pixels, x.cols == width else {
            throw Int8RuntimeError.shapeMismatch(what: "quantized image rows", expected: pixels * width, actual: x.rows * x.cols)
        }
        let cols = gamma.count
        let packedB = try b.withUnsafeBufferPointer {
            try PackedInt8Matrix(packingRows: $0.baseAddress!, rows: cols, cols: width, ld: width, name: "image→token scores")
        }
        guard packedB.layout.paddedK == x.paddedK else {
            throw Int8RuntimeError.shapeMismatch(what: "image→token score operand", expected: x.paddedK,
                                                 actual: packedB.layout.paddedK)
        }
        // The scores are computed chunk by chunk inside the tail's loop (same GEMM, same bits).
        return try finishImageToToken(.quantized(x, packedB, gamma), u: u, columns: cols, norm: norm, into: &keys,
                                      quantizingWith: pe, quantizingPlain: quantizingPlain,
                                      residualSource: residualSource, context: context)
    }

    /// Where `finishImageToToken` gets its `[P][8N]` scores: computed already
    /// (f32 image rows), or made per chunk from quantized image rows
    /// (`x · Bᵀ + gamma` on the int8 kernels, the product `QuantizedLinear`
    /// would run over all rows: each row's int32 sums and epilogue are the
    /// same whichever rows a call covers).
    enum ImageToTokenScores {
        case computed([Float])
        case quantized(QuantizedRows, PackedInt8Matrix, [Float])
    }

    /// `keys = norm(keys + softmax(scores)·U + bo)` (softmax per head across
    /// the token-major columns), in one pass over chunks of pixel rows: each
    /// chunk's scores, keys and output stay in cache between the three steps,
    /// and one parallel loop replaces three. Every step is per row, so the
    /// values are exactly those of the three whole-tensor passes. With `pe`,
    /// each chunk of new keys is also quantized with `pe` added (the next
    /// cross-attention's input) while in cache: returns those rows.
    ///
    /// `keys += P·U + bo` stays out of int8 (k = 8N is tiny, U is L2-resident):
    /// one int8 scale per pixel row spans 8 heads' softmaxes, and the diffuse
    /// heads lose precision (demo model: best-mask IoU 0.981 → 0.985 against
    /// f32 with this in f32, docs/ACCURACY.md). It runs with bf16 operands
    /// where the CPU has bf16 products (`AttentionProductPrecision`), else in f32.
    ///
    /// With `residualSource`, the keys entering are `image + dense`, built
    /// per chunk here (`keys` need only have the right size): one 4 MB pass
    /// less per prompt, and in parallel.
    private func finishImageToToken(_ source: ImageToTokenScores, u: [Float], columns cols: Int, norm: LayerNorm,
                                    into keys: inout [Float], quantizingWith pe: [Float]?, quantizingPlain: Bool,
                                    residualSource: DeferredKeys? = nil,
                                    context: Int8Context) throws -> QuantizedImageKeys? {
        let dim = qProj.inFeatures
        let pixels = keys.count / dim
        var computed: [Float] = [], product: (x: QuantizedRows, b: PackedInt8Matrix, gamma: [Float])?
        switch source {
        case .computed(let values): computed = values
        case .quantized(let x, let b, let gamma): product = (x, b, gamma)
        }
        precondition(product.map { $0.x.rows == pixels && $0.b.n == cols && $0.gamma.count == cols }
                        ?? (computed.count == pixels * cols), "internal: image→token score sizes")
        let space = context.workspace, scoreBytes = roundUp(4 * QuantizedRows.chunkRows * cols, 64)
        space.resetStatus()
        precondition(pe.map { $0.count == keys.count } ?? true, "internal: keys and PE sizes")
        precondition(residualSource.map { $0.image.count == keys.count } ?? true, "internal: deferred keys size")
        let image = residualSource?.image ?? []
        let quantized = pe.map { _ in QuantizedRows(uninitializedRows: pixels, cols: dim) }
        let plain = quantized != nil && quantizingPlain ? QuantizedRows(uninitializedRows: pixels, cols: dim) : nil
        let chunk = QuantizedRows.chunkRows, isa = context.isa
        let packedU = context.attentionProducts == .bf16
            ? u.withUnsafeBufferPointer { BF16PackedMatrix(packing: $0.baseAddress!, rows: cols, columns: dim, ld: dim) }
            : nil
        // With bf16 products and no mask input, `image + dense` (one vector)
        // is the GEMM's residual term, the same sum without a pass of its own.
        var denseVector: [Float]?
        if packedU != nil, case .broadcast(let vector)? = residualSource?.dense { denseVector = vector }
        computed.withUnsafeBufferPointer { sb in
            u.withUnsafeBufferPointer { ub in
                withOptionalPointer(outProj.bias) { bo in
                    withOptionalPointer(pe) { peBase in
                        withOptionalPointer(image) { imageBase in
                        withOptionalPointer(denseVector) { dense in
                        withOptionalPointer(product?.gamma) { gamma in
                        keys.withUnsafeMutableBufferPointer { kb in
                            let k = kb.baseAddress!, uBase = ub.baseAddress!
                            context.pool.parallelFor(count: (pixels + chunk - 1) / chunk) { task, worker in
                                let r0 = task * chunk, rows = min(chunk, pixels - r0)
                                // The chunk's scores, softmaxed in place in the worker's scratch.
                                let s = space.perWorker[worker].reserve(bytes: scoreBytes)
                                    .assumingMemoryBound(to: Float.self)
                                if let (x, b, _) = product {
                                    let status = Int8GEMM.run(
                                        isa: isa, m: rows, n: cols, k: x.cols, a: x.values + r0 * x.paddedK,
                                        lda: x.paddedK, rowScales: x.scales + r0, weights: b.payload, bias: gamma,
                                        residual: nil, ldr: cols, c: s, ldc: cols, gelu: false, rows: 0..<rows,
                                        columns: 0..<cols)
                                    if status != 0 { space.status[worker] = status; return }
                                } else {
                                    s.update(from: sb.baseAddress! + r0 * cols, count: rows * cols)
                                }
                                if let residualSource, let imageBase, dense == nil {
                                    residualSource.dense.add(to: imageBase, rows: r0..<(r0 + rows), width: dim, into: k,
                                                             isa: isa)
                                }
                                samq_softmax_lanes8(isa.raw, s, rows, cols / 8, cols)
                                if let packedU {
                                    let residual = dense != nil ? imageBase! + r0 * dim : UnsafePointer(k + r0 * dim)
                                    BF16GEMM.run(isa: isa, rows: 0..<rows, a: s, lda: cols, b: packedU,
                                                 c: k + r0 * dim, ldc: dim, bias: bo, residual: residual, ldr: dim,
                                                 residualAdd: dense)
                                } else {
                                    MatMul.f32(m: rows, n: dim, k: cols, a: s, lda: cols, b: uBase,
                                               ldb: dim, layout: .kn, c: k + r0 * dim, ldc: dim, bias: bo,
                                               accumulate: true, parallel: false)
                                }
                                if let plain {
                                    // The new keys themselves quantized by the LayerNorm kernel while in L1.
                                    let (codes, scales) = plain.destination(row: r0)
                                    DecoderLayerNorm.applyRows(norm, k + r0 * dim, rows: rows, gelu: false,
                                                               quantizingInto: codes, ldq: plain.paddedK, scales: scales)
                                } else {
                                    DecoderLayerNorm.applyRows(norm, k + r0 * dim, rows: rows, gelu: false)
                                }
                                if let quantized, let peBase {
                                    quantized.quantize(rows: r0..<(r0 + rows), k + r0 * dim, plus: peBase + r0 * dim,
                                                       isa: isa)
                                }
                            }
                        }
                        }
                        }
                        }
                    }
                }
            }
        }
        if space.failed { throw Int8RuntimeError.kernelRejected("image→token scores (\(pixels) pixels)") }
        return quantized.map { QuantizedImageKeys(withPE: $0, plain: plain) }
    }

    /// image→token in int8; see `accumulateImageToToken(image:tokensWithPE:tokens:into:)`.
    /// `keys` ends normalized by `norm`, and the quantized `keys + pe` are
    /// returned with `pe`, as above (not for other head counts: nil).
    func accumulateImageToToken(image: ImageQueries, tokensWithPE: [Float], tokens: [Float], into keys: inout [Float],
                                norm: LayerNorm, quantizingWith pe: [Float]?, quantizingPlain: Bool = false,
                                int8 context: Int8Context) throws -> QuantizedImageKeys? {
        guard heads == 8 else {
            accumulateImageToToken(image: image, tokensWithPE: tokensWithPE, tokens: tokens, into: &keys)
            DecoderLayerNorm.applyInPlace(norm, &keys)
            return nil
        }
        let (b, gamma, u, width) = imageToTokenOperands(projected: image.isProjected, tokensWithPE: tokensWithPE, tokens: tokens)
        let cols = gamma.count
        let x: [Float]
        switch image {
        case .raw(let values), .projected(let values): x = values
        }
        let packedB = try b.withUnsafeBufferPointer {
            try PackedInt8Matrix(packingRows: $0.baseAddress!, rows: cols, cols: width, ld: width, name: "image→token scores")
        }
        let scores = try QuantizedLinear(weight: packedB, bias: gamma, context: context)(x)
        return try finishImageToToken(.computed(scores), u: u, columns: cols, norm: norm, into: &keys,
                                      quantizingWith: pe, quantizingPlain: quantizingPlain, context: context)
    }
}
