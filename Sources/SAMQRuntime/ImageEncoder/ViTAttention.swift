/// Multi-head self-attention of one ViT block with decomposed relative
/// positions (`Attention` in the official image_encoder.py).
///
/// Attention runs per (window, head, query tile), so no buffer larger than
/// `tile × tokens` scores exists: a vit_h global block never holds its
/// 16 × 4096² score tensor.
struct ViTAttention {
    let qkv: Linear
    let proj: Linear
    let heads: Int
    let headDim: Int
    /// Side of the attended square (window size, or grid size for global blocks).
    let size: Int
    /// `get_rel_pos(size, size, rel_pos_h|w)`: `[size][size][headDim]`, or nil without rel-pos.
    let relativeH: [Float]?
    let relativeW: [Float]?

    static let queryTile = 64

    init(weights: WeightProvider, prefix: String, dim: Int, heads: Int, size: Int,
         qkvBias: Bool, useRelPos: Bool, expectedRelPosLength: Int?) throws {
        guard heads > 0, dim % heads == 0 else {
            throw SAMRuntimeError.invalidConfig("embed dim \(dim) is not divisible by \(heads) heads")
        }
        self.heads = heads
        headDim = dim / heads
        self.size = size
        qkv = try Linear(weights: weights, prefix: prefix + ".qkv", inFeatures: dim, outFeatures: 3 * dim, bias: qkvBias)
        proj = try Linear(weights: weights, prefix: prefix + ".proj", inFeatures: dim, outFeatures: dim)
        if useRelPos {
            var tables: [[Float]] = []
            for axis in ["h", "w"] {
                let name = prefix + ".rel_pos_" + axis
                let length = try weights.leadingDimension(name)
                if let expectedRelPosLength, expectedRelPosLength != length {
                    throw SAMRuntimeError.weightShapeMismatch(name: name, expected: [expectedRelPosLength, dim / heads],
                                                              actual: weights.shape(name) ?? [])
                }
                guard length > 0 else {
                    throw SAMRuntimeError.weightShapeMismatch(name: name, expected: [2 * size - 1, dim / heads],
                                                              actual: weights.shape(name) ?? [])
                }
                let table = try weights.tensor(name, shape: [length, dim / heads])
                tables.append(RelativePosition.gather(querySize: size, keySize: size, table: table,
                                                      length: length, channels: dim / heads))
            }
            relativeH = tables[0]
            relativeW = tables[1]
        } else {
            relativeH = nil
            relativeW = nil
        }
    }

    /// `x` is `[windows][size*size][dim]` (already normalized); returns the
    /// attention output before `proj`, same shape.
    func attend(_ x: [Float], windows: Int) -> [Float] {
        let dim = heads * headDim, tokens = size * size
        let packed = qkv(x)                       // [windows*tokens][3*dim]: (q|k|v) × heads × headDim
        var out = [Float](repeating: 0, count: windows * tokens * dim)
        let keysTransposed = Self.transposeKeys(packed, windows: windows, tokens: tokens, heads: heads, headDim: headDim)
        // Tiles hold whole rows of the attended grid, so the rel-pos terms of a
        // tile are a few small GEMMs (one per grid row for H, one per column for W).
        let tile = min(tokens, size * max(1, Self.queryTile / size))
        let tilesPerHead = (tokens + tile - 1) / tile
        let tasks = windows * heads * tilesPerHead
        let workers = Parallel.workerCount(tasks: tasks)
        // Per-worker scratch: scores for one query tile plus its scaled queries.
        let scratchCount = tile * tokens + tile * headDim + 2 * tile * size
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * scratchCount)
        defer { scratch.deallocate() }
        let scale = Float(1 / Double(headDim).squareRoot())   // head_dim ** -0.5, rounded to float
        packed.withUnsafeBufferPointer { qkvBuffer in
          keysTransposed.withUnsafeBufferPointer { kTBuffer in
            out.withUnsafeMutableBufferPointer { outBuffer in
                let qkvBase = qkvBuffer.baseAddress!, outBase = outBuffer.baseAddress!
                Parallel.forEach(tasks: tasks) { task, worker in
                    let window = task / (heads * tilesPerHead)
                    let head = (task / tilesPerHead) % heads
                    let q0 = (task % tilesPerHead) * tile
                    let rows = min(tile, tokens - q0)
                    let ld = 3 * dim
                    let windowBase = qkvBase + window * tokens * ld
                    let queries = windowBase + head * headDim
                    let keysT = kTBuffer.baseAddress! + (window * heads + head) * headDim * tokens
                    let values = windowBase + 2 * dim + head * headDim
                    let scores = scratch + worker * scratchCount
                    let scaled = scores + tile * tokens
                    let relH = scaled + tile * headDim, relW = relH + tile * size
                    for r in 0..<rows {
                        let q = queries + (q0 + r) * ld
                        for c in 0..<headDim { scaled[r * headDim + c] = q[c] * scale }
                    }
                    if let relativeH, let relativeW {
                        // add_decomposed_rel_pos uses the unscaled q:
                        // relH[r][kh] = q[r] · Rh[qh(r)][kh], relW[r][kw] = q[r] · Rw[qw(r)][kw].
                        let gridRows = rows / size, firstRow = q0 / size
                        relativeH.withUnsafeBufferPointer { table in
                            for g in 0..<gridRows {
                                MatMul.f32(m: size, n: size, k: headDim, a: queries + (q0 + g * size) * ld, lda: ld,
                                           b: table.baseAddress! + (firstRow + g) * size * headDim, ldb: headDim,
                                           layout: .nk, c: relH + g * size * size, ldc: size, parallel: false)
                            }
                        }
                        relativeW.withUnsafeBufferPointer { table in
                            for qw in 0..<size {
                                MatMul.f32(m: gridRows, n: size, k: headDim, a: queries + (q0 + qw) * ld, lda: ld * size,
                                           b: table.baseAddress! + qw * size * headDim, ldb: headDim,
                                           layout: .nk, c: relW + qw * size, ldc: size * size, parallel: false)
                            }
                        }
                    }
                    // attn = (q * scale) @ kᵀ, with kᵀ stored [headDim][tokens]: the
                    // broadcast GEMM form is far faster than dot products of length 64.
                    MatMul.f32(m: rows, n: tokens, k: headDim, a: scaled, lda: headDim, b: keysT, ldb: tokens,
                               layout: .kn, c: scores, ldc: tokens, parallel: false)
                    for r in 0..<rows {
                        let row = scores + r * tokens
                        if relativeH != nil {
                            let rh = relH + r * size, rw = relW + r * size
                            for kh in 0..<size {
                                let h = rh[kh], out = row + kh * size
                                for kw in 0..<size { out[kw] = (out[kw] + h) + rw[kw] }
                            }
                        }
                        Softmax.apply(row, count: tokens)
                    }
                    // out = attn @ v, written at this head's channel slice.
                    MatMul.f32(m: rows, n: headDim, k: tokens, a: scores, lda: tokens, b: values, ldb: ld,
                               layout: .kn, c: outBase + (window * tokens + q0) * dim + head * headDim, ldc: dim,
                               parallel: false)
                }
            }
          }
        }
        return out
    }

    /// The keys of every (window, head) as `[headDim][tokens]` blocks.
    private static func transposeKeys(_ packed: [Float], windows: Int, tokens: Int, heads: Int,
                                      headDim: Int) -> [Float] {
        let dim = heads * headDim, ld = 3 * dim
        var out = [Float](repeating: 0, count: windows * heads * headDim * tokens)
        packed.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                Parallel.forEach(tasks: windows * heads) { task, _ in
                    let window = task / heads, head = task % heads
                    let keys = s + window * tokens * ld + dim + head * headDim
                    let block = d + task * headDim * tokens
                    for t in 0..<tokens {
                        let row = keys + t * ld
                        for c in 0..<headDim { block[c * tokens + t] = row[c] }
                    }
                }
            }
        }
        return out
    }
}
