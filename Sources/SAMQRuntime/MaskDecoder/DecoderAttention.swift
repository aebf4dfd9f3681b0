/// `Attention` of the two-way transformer: projections to an internal width
/// (`dim / downsample_rate`), per-head softmax(q·kᵀ / √d)·v, output projection.
struct DecoderAttention {
    let qProj: Linear
    let kProj: Linear
    let vProj: Linear
    let outProj: Linear
    let heads: Int
    let internalDim: Int

    /// `keepingHalfPrecision`: keep f16-stored projections f16 (`Linear`);
    /// only for attentions that never run the folded paths, which read the
    /// f32 matrices.
    init(weights: WeightProvider, prefix: String, dim: Int, heads: Int, downsampleRate: Int,
         keepingHalfPrecision: Bool = false) throws {
        guard downsampleRate > 0, dim % downsampleRate == 0, heads > 0, (dim / downsampleRate) % heads == 0 else {
            throw SAMRuntimeError.invalidConfig("attention width \(dim)/\(downsampleRate) is not divisible by \(heads) heads")
        }
        internalDim = dim / downsampleRate
        self.heads = heads
        qProj = try Linear(weights: weights, prefix: prefix + ".q_proj", inFeatures: dim, outFeatures: internalDim,
                       keepingHalfPrecision: keepingHalfPrecision)
        kProj = try Linear(weights: weights, prefix: prefix + ".k_proj", inFeatures: dim, outFeatures: internalDim,
                       keepingHalfPrecision: keepingHalfPrecision)
        vProj = try Linear(weights: weights, prefix: prefix + ".v_proj", inFeatures: dim, outFeatures: internalDim,
                       keepingHalfPrecision: keepingHalfPrecision)
        outProj = try Linear(weights: weights, prefix: prefix + ".out_proj", inFeatures: internalDim, outFeatures: dim,
                       keepingHalfPrecision: keepingHalfPrecision)
    }

    /// `residual += attention(q, k, v)`; rows are tokens, columns channels.
    func accumulate(q: [Float], k: [Float], v: [Float], into residual: inout [Float]) {
        let (query, key, value) = projections(q: q, k: k, v: v)
        outProj.accumulate(attend(query: query, key: key, value: value), into: &residual)
    }

    /// `q_proj(q)`, `k_proj(k)`, `v_proj(v)`; for token rows (the decoder's
    /// self-attention: ~7 rows, below `MatMul.handOffMACs` each) as three
    /// tasks, so the cores share the weight stream.
    private func projections(q: [Float], k: [Float], v: [Float]) -> (q: [Float], k: [Float], v: [Float]) {
        guard q.count + k.count + v.count <= 64 * qProj.inFeatures else { return (qProj(q), kProj(k), vProj(v)) }
        let out = Parallel.map(tasks: 3) { task in
            switch task {
            case 0: return qProj(q)
            case 1: return kProj(k)
            default: return vProj(v)
            }
        }
        return (out[0], out[1], out[2])
    }

    /// The same with some inputs already projected (prompt-independent
    /// projections cached per image): exactly the same arithmetic.
    func accumulate(q: Projected, k: Projected, v: Projected, into residual: inout [Float]) {
        outProj.accumulate(attend(query: project(q, qProj), key: project(k, kProj), value: project(v, vProj)),
                           into: &residual)
    }

    /// The attention output without a residual (layer 0's self-attention).
    func callAsFunction(q: [Float], k: [Float], v: [Float]) -> [Float] {
        let (query, key, value) = projections(q: q, k: k, v: v)
        return outProj(attend(query: query, key: key, value: value))
    }

    /// An attention input either still to be projected or already projected.
    enum Projected {
        case raw([Float])
        case projected([Float])
    }

    private func project(_ x: Projected, _ linear: Linear) -> [Float] {
        switch x {
        case .raw(let values): return linear(values)
        case .projected(let values): return values
        }
    }

    /// Heads recombined, before `out_proj`: `[queries][internalDim]`, from
    /// projected `query`, `key`, `value` (`[rows][internalDim]`).
    private func attend(query: [Float], key: [Float], value: [Float]) -> [Float] {
        let queries = query.count / internalDim, keys = key.count / internalDim
        let headDim = internalDim / heads
        let divisor = Float(Double(headDim).squareRoot())   // math.sqrt(c_per_head)
        var out = [Float](repeating: 0, count: queries * internalDim)
        // Query tiles bound the score buffer (image→token has 4096 queries, token→image 4096 keys).
        let tile = min(queries, 256)
        let tilesPerHead = (queries + tile - 1) / tile
        let tasks = heads * tilesPerHead
        let workers = Parallel.workerCount(tasks: tasks)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * tile * keys)
        defer { scratch.deallocate() }
        query.withUnsafeBufferPointer { qb in
            key.withUnsafeBufferPointer { kb in
                value.withUnsafeBufferPointer { vb in
                    out.withUnsafeMutableBufferPointer { ob in
                        let qBase = qb.baseAddress!, kBase = kb.baseAddress!, vBase = vb.baseAddress!
                        let oBase = ob.baseAddress!
                        Parallel.forEach(tasks: tasks) { task, worker in
                            let head = task / tilesPerHead
                            let q0 = (task % tilesPerHead) * tile
                            let rows = min(tile, queries - q0)
                            let scores = scratch + worker * tile * keys
                            MatMul.f32(m: rows, n: keys, k: headDim,
                                       a: qBase + q0 * internalDim + head * headDim, lda: internalDim,
                                       b: kBase + head * headDim, ldb: internalDim, layout: .nk,
                                       c: scores, ldc: keys, parallel: false)
                            for r in 0..<rows {
                                let row = scores + r * keys
                                for j in 0..<keys { row[j] = row[j] / divisor }
                                Softmax.apply(row, count: keys)
                            }
                            MatMul.f32(m: rows, n: headDim, k: keys, a: scores, lda: keys,
                                       b: vBase + head * headDim, ldb: internalDim, layout: .kn,
                                       c: oBase + q0 * internalDim + head * headDim, ldc: internalDim,
                                       parallel: false)
                        }
                    }
                }
            }
        }
        return out
    }
}
