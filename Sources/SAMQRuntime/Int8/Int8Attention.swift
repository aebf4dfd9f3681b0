import CKernels
import SAMQFormat

/// Multi-head attention with int8 matrix products, tiled flash-style over
/// query blocks.
///
/// Per (batch, head): K is quantized per key row and Vᵀ per channel, both
/// packed once into the GEMM weight layout. Per (batch, head, query tile):
/// Q rows are quantized per token, Q·Kᵀ runs in int8 with the logit scale and
/// the decomposed rel-pos bias folded into the kernel epilogue
/// (`acc·s_q·scale·s_k + (rel_h + rel_w)`), softmax runs in f32 and writes
/// P as int8 (255-level offset code, see `SoftmaxQuantizer`) in the same
/// pass, and P·V runs in int8 with the offset added back per channel.
/// The largest score buffer is `tile × keys` per worker — a vit_h global
/// block never materializes its 16 × 4096² scores.
public struct Int8Attention: @unchecked Sendable {
    /// Precision of the P·V product. `.float32` keeps softmax output and V in
    /// f32 (`samq_sgemm`): slower, for accuracy comparisons.
    public enum ValuePrecision: Sendable { case int8, float32 }
    /// Precision of the Q·Kᵀ product. `.float32` (which needs f32 values too)
    /// is the whole attention core in f32 with f32 softmax: the per-model
    /// fallback a conversion can ask for (`samq-convert --encoder-attention f32`)
    /// when int8 attention costs a model too much accuracy.
    public enum ScorePrecision: Sendable { case int8, float32 }

    public let heads: Int
    public let headDim: Int
    /// Logit scale (`head_dim ** -0.5` by default).
    public let scale: Float
    public let relativePosition: RelativePositionBias?
    public var valuePrecision: ValuePrecision
    public let scorePrecision: ScorePrecision
    /// Upper bound on the query rows of one task.
    public var maxQueryTile = 128
    /// Target size of one worker's f32 score tile: small enough to stay in L2
    /// between the Q·Kᵀ epilogue, the softmax and P·V.
    public var scoreTileBytes = 512 << 10
    /// Bound on the per-call buffers of one chunk of (batch, head) units:
    /// packed K and Vᵀ and the rel-pos rows.
    public var unitChunkBytes = 8 << 20
    public let context: Int8Context

    public init(heads: Int, headDim: Int, scale: Float? = nil, relativePosition: RelativePositionBias? = nil,
                valuePrecision: ValuePrecision = .int8, scorePrecision: ScorePrecision = .int8,
                context: Int8Context) throws(Int8RuntimeError) {
        guard heads > 0, headDim > 0 else { throw .invalidConfiguration("\(heads) heads of width \(headDim)") }
        // f32 scores with int8 P would spend the f32 Q·Kᵀ's time and keep the
        // larger of the two errors.
        guard scorePrecision == .int8 || valuePrecision == .float32 else {
            throw .invalidConfiguration("f32 attention scores need f32 values")
        }
        if let relativePosition, relativePosition.headDim != headDim {
            throw .invalidConfiguration("rel-pos head dim \(relativePosition.headDim) differs from \(headDim)")
        }
        self.heads = heads
        self.headDim = headDim
        self.scale = scale ?? Float(1 / Double(headDim).squareRoot())
        self.relativePosition = relativePosition
        self.valuePrecision = valuePrecision
        self.scorePrecision = scorePrecision
        self.context = context
    }

    /// Query rows per task: as many as keep the score tile near
    /// `scoreTileBytes`, a multiple of 8 (whole AVX2/NEON row tiles; VNNI's
    /// 12-row tile ends in an 8- or 4-row tail), with
    /// the queries split evenly.
    public func queryTile(queries: Int, keys: Int) -> Int {
        let byBytes = max(8, scoreTileBytes / (4 * max(keys, 1)) / 8 * 8)
        let limit = max(8, min(maxQueryTile, byBytes))
        let tiles = (queries + limit - 1) / limit
        return min(roundUp((queries + tiles - 1) / max(tiles, 1), 8), roundUp(queries, 8))
    }

    /// ViT layout: `qkv` is `[batches·tokens][3·dim]` (q | k | v, each heads ×
    /// headDim, as the fused qkv linear writes it); returns `[batches·tokens][dim]`.
    public func callAsFunction(qkv: [Float], batches: Int) throws(Int8RuntimeError) -> [Float] {
        let dim = heads * headDim
        guard batches > 0 else { throw .invalidConfiguration("qkv attention over \(batches) batches") }
        guard qkv.count > 0, qkv.count % (batches * 3 * dim) == 0 else {
            // The nearest valid size: whole tokens of q|k|v in every batch.
            let unit = batches * 3 * dim
            throw .shapeMismatch(what: "qkv (a multiple of batches·3·dim = \(unit))",
                                 expected: max(1, qkv.count / unit) * unit, actual: qkv.count)
        }
        let tokens = qkv.count / (batches * 3 * dim)
        return try makeFloatArray(count: batches * tokens * dim) { (out) throws(Int8RuntimeError) in
            try qkv.withUnsafeBufferPointer { (p) throws(Int8RuntimeError) in
                let base = p.baseAddress!
                try attend(batches: batches, queries: tokens, keys: tokens,
                           q: base, ldq: 3 * dim, k: base + dim, ldk: 3 * dim, v: base + 2 * dim, ldv: 3 * dim,
                           output: out, ldo: dim)
            }
        }
    }

    /// Decoder layout: `q` is `[queries][dim]`, `k` and `v` `[keys][dim]`;
    /// returns `[queries][dim]` (heads recombined, before the output projection).
    public func callAsFunction(q: [Float], k: [Float], v: [Float]) throws(Int8RuntimeError) -> [Float] {
        let dim = heads * headDim
        guard q.count % dim == 0, k.count % dim == 0, k.count == v.count else {
            throw .shapeMismatch(what: "attention k/v", expected: k.count, actual: v.count)
        }
        let queries = q.count / dim, keys = k.count / dim
        guard queries > 0 else { return [] }
        guard keys > 0 else { throw .shapeMismatch(what: "attention keys", expected: dim, actual: 0) }
        return try makeFloatArray(count: queries * dim) { (out) throws(Int8RuntimeError) in
            try q.withUnsafeBufferPointer { (qp) throws(Int8RuntimeError) in
                try k.withUnsafeBufferPointer { (kp) throws(Int8RuntimeError) in
                    try v.withUnsafeBufferPointer { (vp) throws(Int8RuntimeError) in
                        try attend(batches: 1, queries: queries, keys: keys, q: qp.baseAddress!, ldq: dim,
                                   k: kp.baseAddress!, ldk: dim, v: vp.baseAddress!, ldv: dim, output: out, ldo: dim)
                    }
                }
            }
        }
    }

    /// Pointer-level attention. Batch `b` (a window) has its query rows at
    /// `q + b·queries·ldq` and its key/value rows at `k + b·keys·ldk`,
    /// `v + b·keys·ldv`; head `h` occupies columns `h·headDim ..< (h+1)·headDim`
    /// of every row, and of the output rows (`ldo` apart).
    ///
    /// `output` may be `q` itself (`ldo == ldq`): every query tile is read
    /// (quantized, and projected for rel-pos in the phase before) before
    /// the same rows and head columns are written, and no other task reads
    /// them. The encoder uses this to keep one `tokens × 3·dim` buffer.
    public func attend(batches: Int, queries: Int, keys: Int,
                       q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int,
                       v: UnsafePointer<Float>, ldv: Int,
                       output: UnsafeMutablePointer<Float>, ldo: Int) throws(Int8RuntimeError) {
        guard batches > 0, queries > 0 else { return }
        let dim = heads * headDim
        guard keys > 0 else { throw .invalidConfiguration("attention over zero keys") }
        guard ldq >= dim, ldk >= dim, ldv >= dim, ldo >= dim else {
            throw .invalidConfiguration("row strides \(ldq), \(ldk), \(ldv), \(ldo) are smaller than \(dim)")
        }
        if let relativePosition {
            let tokens = relativePosition.size * relativePosition.size
            guard queries == tokens, keys == tokens else {
                throw .invalidConfiguration("rel-pos grid \(relativePosition.size)² needs \(tokens) queries and keys, got \(queries) and \(keys)")
            }
        }
        let hd = headDim, isa = context.isa, pool = context.pool, space = context.workspace
        let units = batches * heads
        let int8Values = valuePrecision == .int8
        let int8Scores = scorePrecision == .int8

        // Phase 1 buffers: packed K and Vᵀ and the rel-pos rows of every (batch, head) of a chunk.
        let keyBytes = roundUp(samq_packed_size(keys, hd), 64)
        let valueBytes = roundUp(samq_packed_size(hd, keys), 64)
        let size = relativePosition?.size ?? 0
        let relativeStride = 2 * queries * size
        // Units run in chunks so these buffers stay bounded: a vit_h global
        // block would otherwise hold 16 heads × (packed K, Vᵀ, 2·4096·64
        // rel-pos floats) = 44 MB at once. Each unit's arithmetic is
        // independent of the chunking.
        let unitBytes = (int8Scores ? keyBytes : 0) + (int8Values ? valueBytes : 0) + 4 * relativeStride
        let chunk = min(units, max(pool.threads, unitChunkBytes / max(unitBytes, 1) / pool.threads * pool.threads))
        let packedKeys = int8Scores ? space.packedKeys.reserve(bytes: chunk * keyBytes) : nil
        let packedValues = int8Values ? space.packedValues.reserve(bytes: chunk * valueBytes) : nil
        let relative = space.relative.pointer(as: Float.self, count: max(1, chunk * relativeStride))

        // Phase 2 per-worker layout.
        let tile = queryTile(queries: queries, keys: keys)
        let tilesPerUnit = (queries + tile - 1) / tile
        let kpHead = roundUp(hd, 8)
        let lds = roundUp(keys, 16)
        let ldp = roundUp(keys, 64)
        let qQuantBytes = roundUp(tile * kpHead, 64)
        let scoresOffset = qQuantBytes + roundUp(8 * tile, 64)   // then q scales and p scales
        let pQuantOffset = scoresOffset + 4 * tile * lds
        let rawOffset = pQuantOffset + roundUp(tile * ldp, 64)
        let workerBytes = rawOffset + 4 * tile * hd
        let workers = space.perWorker.map { $0.reserve(bytes: workerBytes) }

        let relativePosition = self.relativePosition
        space.resetStatus()
        for firstUnit in stride(from: 0, to: units, by: chunk) {
            let chunkUnits = min(chunk, units - firstUnit)
            pool.parallelFor(count: chunkUnits) { slot, worker in
                let unit = firstUnit + slot
                let b = unit / heads, h = unit % heads
                if let packedKeys {
                    PanelPacker.packRows(k + b * keys * ldk + h * hd, rows: keys, cols: hd, ld: ldk,
                                         into: packedKeys + slot * keyBytes, isa: isa)
                }
                if let packedValues {
                    PanelPacker.packColumns(v + b * keys * ldv + h * hd, rows: keys, cols: hd, ld: ldv,
                                            into: packedValues + slot * valueBytes, isa: isa)
                }
                if let relativePosition {
                    let rel = relative + slot * relativeStride
                    let status = relativePosition.project(queries: q + b * queries * ldq + h * hd, ldq: ldq, isa: isa,
                                                          relH: rel, relW: rel + queries * size)
                    if status != 0 { space.status[worker] = status }
                }
            }
            // Base-2 logits: softmax(x) = 2^(x·log2e − max) / Σ, so log2(e)
            // rides on the logit scale (and on the rel-pos tables) for free.
            let scale = self.scale * RelativePositionBias.log2e
            pool.parallelFor(count: chunkUnits * tilesPerUnit) { task, worker in
                let slot = task / tilesPerUnit, unit = firstUnit + slot
                let b = unit / heads, h = unit % heads
                let q0 = (task % tilesPerUnit) * tile
                let rows = min(tile, queries - q0)
                let scratch = workers[worker]
                let qQuant = scratch.assumingMemoryBound(to: Int8.self)
                let qScales = (scratch + qQuantBytes).assumingMemoryBound(to: Float.self)
                let pScales = qScales + tile
                let scores = (scratch + scoresOffset).assumingMemoryBound(to: Float.self)
                let pQuant = (scratch + pQuantOffset).assumingMemoryBound(to: Int8.self)

                let queryRows = q + (b * queries + q0) * ldq + h * hd
                if let relativePosition {
                    let rel = relative + slot * relativeStride
                    relativePosition.fill(scores: scores, lds: lds, rows: rows, relH: rel + q0 * size,
                                          relW: rel + queries * size + q0 * size, isa: isa)
                }
                let bias = relativePosition == nil ? nil : UnsafePointer(scores)
                var status: Int32
                if let packedKeys {
                    samq_quantize_rows(isa.raw, queryRows, rows, hd, ldq, qQuant, kpHead, qScales)
                    for r in 0..<rows { qScales[r] *= scale }
                    status = Int8GEMM.run(isa: isa, m: rows, n: keys, k: hd, a: qQuant, lda: kpHead, rowScales: qScales,
                                          weights: packedKeys + slot * keyBytes, bias: nil, residual: bias, ldr: lds,
                                          c: scores, ldc: lds, gelu: false, rows: 0..<rows, columns: 0..<keys)
                } else {
                    // The f32 GEMM has no alpha: scale a copy of the Q tile
                    // (the raw-accumulator area is free when values are f32).
                    let scaled = (scratch + rawOffset).assumingMemoryBound(to: Float.self)
                    for r in 0..<rows {
                        for c in 0..<hd { scaled[r * hd + c] = queryRows[r * ldq + c] * scale }
                    }
                    var args = samq_sgemm_args()
                    args.M = rows; args.N = keys; args.K = hd
                    args.A = UnsafePointer(scaled); args.lda = hd
                    args.B = k + b * keys * ldk + h * hd; args.ldb = ldk
                    args.residual = bias; args.ldr = lds
                    args.C = scores; args.ldc = lds
                    args.m_begin = 0; args.m_end = rows
                    args.n_begin = 0; args.n_end = keys
                    status = samq_sgemm(isa.raw, &args)
                }
                let out = output + (b * queries + q0) * ldo + h * hd
                if let packedValues {
                    SoftmaxQuantizer.apply(rows: rows, scores: scores, count: keys, lds: lds, into: pQuant, ldq: ldp,
                                           paddedCount: roundUp(keys, 8), scales: pScales, isa: isa)
                    // P is in offset code (q − 127): raw accumulators, then
                    // out = (acc + 127·colsum_v) · s_v · s_p, exact in int32.
                    let raw = (scratch + rawOffset).assumingMemoryBound(to: Int32.self)
                    let packed = packedValues + slot * valueBytes
                    status |= Int8GEMM.run(isa: isa, m: rows, n: hd, k: keys, a: pQuant, lda: ldp, rowScales: pScales,
                                           weights: packed, bias: nil, residual: nil, ldr: 0,
                                           c: nil, ldc: hd, gelu: false, rawOutput: raw, rows: 0..<rows, columns: 0..<hd)
                    let valueLayout = PackedInt8Layout(n: hd, k: keys)
                    let vScales = (packed + valueLayout.scalesOffset).assumingMemoryBound(to: Float.self)
                    let vSums = (packed + valueLayout.columnSumsOffset).assumingMemoryBound(to: Int32.self)
                    for r in 0..<rows {
                        let acc = raw + r * hd, o = out + r * ldo, ps = pScales[r]
                        for c in 0..<hd { o[c] = Float(acc[c] &+ 127 &* vSums[c]) * (vScales[c] * ps) }
                    }
                } else {
                    for r in 0..<rows { SoftmaxQuantizer.normalize(scores + r * lds, count: keys) }
                    var args = samq_sgemm_args()
                    args.M = rows; args.N = hd; args.K = keys
                    args.A = UnsafePointer(scores); args.lda = lds
                    args.B = v + b * keys * ldv + h * hd; args.ldb = ldv
                    args.C = out; args.ldc = ldo
                    args.flags = UInt32(SAMQ_SGEMM_B_KN)
                    args.m_begin = 0; args.m_end = rows
                    args.n_begin = 0; args.n_end = hd
                    status |= samq_sgemm(isa.raw, &args)
                }
                if status != 0 { space.status[worker] = status }
            }
        }
        if space.failed { throw .kernelRejected("attention \(batches)×\(heads) heads, \(queries)×\(keys) tokens") }
    }
}
