import SAMQFormat

/// One ViT encoder block on the int8 path: the f32 `ViTBlock` with every
/// matrix product swapped for its W8A8 counterpart (qkv, proj, lin1, lin2 as
/// `QuantizedLinear`, the attention core as `Int8Attention`). LayerNorm,
/// window partitioning and the residual adds stay as in the f32 block.
///
/// This is the drop-in for `ImageEncoderViT.blocks` once the f32 encoder is
/// final (see the integration notes in the Int8 report).
struct Int8ViTBlock {
    let norm1: LayerNorm
    let norm2: LayerNorm
    let qkv: EncoderLinear
    let proj: EncoderLinear
    let attention: Int8Attention
    let lin1: EncoderLinear
    let lin2: EncoderLinear
    let context: Int8Context
    /// 0 for a global-attention block.
    let windowSize: Int

    init(weights: WeightProvider, index: Int, config: ModelConfig, context: Int8Context,
         attention attentionPrecision: EncoderAttentionPrecision = .int8) throws {
        let prefix = "image_encoder.blocks.\(index)"
        let e = config.imageEncoder
        guard e.numHeads > 0, e.embedDim % e.numHeads == 0 else {
            throw SAMRuntimeError.invalidConfig("embed dim \(e.embedDim) is not divisible by \(e.numHeads) heads")
        }
        let dim = e.embedDim, headDim = e.embedDim / e.numHeads
        windowSize = e.globalAttnIndexes.contains(index) ? 0 : e.windowSize
        let size = windowSize > 0 ? windowSize : e.gridSize
        norm1 = try LayerNorm(weights: weights, prefix: prefix + ".norm1", dimension: dim, epsilon: LayerNorm.vitEpsilon)
        norm2 = try LayerNorm(weights: weights, prefix: prefix + ".norm2", dimension: dim, epsilon: LayerNorm.vitEpsilon)
        self.context = context
        qkv = try EncoderLinear(weights: weights, prefix: prefix + ".attn.qkv", inFeatures: dim, outFeatures: 3 * dim,
                                bias: e.qkvBias, context: context)
        proj = try EncoderLinear(weights: weights, prefix: prefix + ".attn.proj", inFeatures: dim, outFeatures: dim,
                                 context: context)
        var relative: RelativePositionBias?
        if e.useRelPos {
            let expected = e.relPosLengths.flatMap { index < $0.count ? $0[index] : nil }
            var tables: [[Float]] = []
            for axis in ["h", "w"] {
                let name = prefix + ".attn.rel_pos_" + axis
                let length = try weights.leadingDimension(name)
                guard length > 0, expected == nil || expected == length else {
                    throw SAMRuntimeError.weightShapeMismatch(name: name, expected: [expected ?? 2 * size - 1, headDim],
                                                              actual: weights.shape(name) ?? [])
                }
                tables.append(try weights.tensor(name, shape: [length, headDim]))
            }
            relative = try RelativePositionBias(size: size, headDim: headDim, relPosH: tables[0], relPosW: tables[1])
        }
        let f32Attention = attentionPrecision == .f32
        attention = try Int8Attention(heads: e.numHeads, headDim: headDim, relativePosition: relative,
                                      valuePrecision: f32Attention ? .float32 : .int8,
                                      scorePrecision: f32Attention ? .float32 : .int8, context: context)
        lin1 = try EncoderLinear(weights: weights, prefix: prefix + ".mlp.lin1", inFeatures: dim, outFeatures: e.mlpDim,
                                 context: context)
        lin2 = try EncoderLinear(weights: weights, prefix: prefix + ".mlp.lin2", inFeatures: e.mlpDim, outFeatures: dim,
                                 context: context)
    }

    /// `x` is `[grid][grid][dim]`, updated in place (same contract as `ViTBlock.apply`).
    func apply(_ x: inout [Float], grid: Int) throws {
        guard x.count == grid * grid * norm1.dimension else {
            throw Int8RuntimeError.shapeMismatch(what: "tokens of an encoder block", expected: grid * grid * norm1.dimension,
                                                 actual: x.count)
        }
        try x.withUnsafeMutableBufferPointer { (tokens) throws(Int8RuntimeError) in
            try apply(tokens.baseAddress!, grid: grid)
        }
    }

    /// The block on `grid² × dim` tokens at `x`, in tiles: no intermediate
    /// is ever `tokens × 4·dim`. Every row's arithmetic (LayerNorm, per-row
    /// activation quantization, the GEMM epilogue, the attention of one
    /// (window, head)) is independent of the tiling, so the result is the
    /// untiled block's, bit for bit. Buffers are the context's, reused by
    /// every block (sizes in docs/MEMORY.md).
    func apply(_ x: UnsafeMutablePointer<Float>, grid: Int) throws(Int8RuntimeError) {
        if windowSize > 0 {
            try windowedAttention(x, grid: grid)
        } else {
            try globalAttention(x, grid: grid)
        }
        try mlp(x, grid: grid)
    }

    /// Rows per MLP tile: the hidden activations are `rowTile × 4·dim`.
    static let rowTile = 1024

    /// x += proj(attn(qkv(norm1(x)))) over the whole grid. qkv is computed
    /// in row tiles into one `tokens × 3·dim` buffer; the attention output
    /// overwrites the q columns it has consumed, and proj reads it there.
    private func globalAttention(_ x: UnsafeMutablePointer<Float>, grid: Int) throws(Int8RuntimeError) {
        let dim = norm1.dimension, rows = grid * grid, ld = 3 * dim
        let space = context.workspace
        let wide = space.blockWide.pointer(as: Float.self, count: rows * ld)
        let narrow = space.blockNarrow.pointer(as: Float.self, count: min(rows, Self.rowTile) * dim)
        for r0 in stride(from: 0, to: rows, by: Self.rowTile) {
            let count = min(Self.rowTile, rows - r0)
            normalizeRows(norm1, count: count, source: { x + (r0 + $0) * dim }, into: narrow)
            try qkv.forward(rows: count, input: narrow, ldx: dim, output: wide + r0 * ld, ldo: ld)
        }
        try attention.attend(batches: 1, queries: rows, keys: rows, q: wide, ldq: ld, k: wide + dim, ldk: ld,
                             v: wide + 2 * dim, ldv: ld, output: wide, ldo: ld)
        try proj.forward(rows: rows, input: wide, ldx: ld, output: x, ldo: dim, accumulate: true)
    }

    /// Windowed attention one band of window rows at a time: the band's
    /// windows are gathered (normalized, zero-padded as `window_partition`
    /// pads after norm1), attended, and the real tokens' outputs go through
    /// proj into the band's grid rows.
    private func windowedAttention(_ x: UnsafeMutablePointer<Float>, grid: Int) throws(Int8RuntimeError) {
        let dim = norm1.dimension, ld = 3 * dim, ws = windowSize
        let partition = WindowPartition(height: grid, width: grid, windowSize: ws, channels: dim)
        let across = partition.windowsAcross, perWindow = partition.tokensPerWindow
        let bandWindowRows = max(1, Self.rowTile / (across * perWindow))
        let space = context.workspace
        let maxRows = min(bandWindowRows, partition.windowsDown) * across * perWindow
        let wide = space.blockWide.pointer(as: Float.self, count: maxRows * ld)
        let narrow = space.blockNarrow.pointer(as: Float.self, count: maxRows * dim)
        for firstWindowRow in stride(from: 0, to: partition.windowsDown, by: bandWindowRows) {
            let windowRows = min(bandWindowRows, partition.windowsDown - firstWindowRow)
            let windows = windowRows * across, rows = windows * perWindow
            let y0 = firstWindowRow * ws, y1 = min(grid, (firstWindowRow + windowRows) * ws)
            // Window token r of the band ↔ grid token (y, x), or padding.
            let token = { (r: Int) -> Int? in
                let window = r / perWindow, inner = r % perWindow
                let y = y0 + (window / across) * ws + inner / ws, column = (window % across) * ws + inner % ws
                return y < grid && column < grid ? y * grid + column : nil
            }
            normalizeRows(norm1, count: rows, source: { token($0).map { x + $0 * dim } }, into: narrow)
            try qkv.forward(rows: rows, input: narrow, ldx: dim, output: wide, ldo: ld)
            try attention.attend(batches: windows, queries: perWindow, keys: perWindow, q: wide, ldq: ld,
                                 k: wide + dim, ldk: ld, v: wide + 2 * dim, ldv: ld, output: wide, ldo: ld)
            // Unpartition the band: grid rows y0..<y1 in order, padding dropped.
            let real = (y1 - y0) * grid
            context.pool.parallelFor(count: (real + 63) / 64) { task, _ in
                for t in (task * 64)..<min(real, task * 64 + 64) {
                    let y = y0 + t / grid, column = t % grid
                    let window = ((y - y0) / ws) * across + column / ws, inner = (y % ws) * ws + column % ws
                    (narrow + t * dim).update(from: wide + (window * perWindow + inner) * ld, count: dim)
                }
            }
            // proj is per token: applying it after unpartition equals the
            // reference's proj-then-unpartition.
            try proj.forward(rows: real, input: narrow, ldx: dim, output: x + y0 * grid * dim, ldo: dim,
                             accumulate: true)
        }
    }

    /// x += lin2(gelu(lin1(norm2(x)))) in row tiles.
    private func mlp(_ x: UnsafeMutablePointer<Float>, grid: Int) throws(Int8RuntimeError) {
        let dim = norm2.dimension, rows = grid * grid, hidden = lin1.outFeatures
        let space = context.workspace
        let tile = min(rows, Self.rowTile)
        let wide = space.blockWide.pointer(as: Float.self, count: tile * hidden)
        let narrow = space.blockNarrow.pointer(as: Float.self, count: tile * dim)
        for r0 in stride(from: 0, to: rows, by: tile) {
            let count = min(tile, rows - r0)
            normalizeRows(norm2, count: count, source: { x + (r0 + $0) * dim }, into: narrow)
            try lin1.forward(rows: count, input: narrow, ldx: dim, output: wide, ldo: hidden, activation: .gelu)
            try lin2.forward(rows: count, input: wide, ldx: hidden, output: x + r0 * dim, ldo: dim, accumulate: true)
        }
    }

    /// `destination[r] = norm(source(r))`, or zeros where `source` is nil
    /// (window padding), in parallel chunks of rows.
    private func normalizeRows(_ norm: LayerNorm, count: Int, source: (Int) -> UnsafeMutablePointer<Float>?,
                               into destination: UnsafeMutablePointer<Float>) {
        let dim = norm.dimension
        context.pool.parallelFor(count: (count + 31) / 32) { task, _ in
            for r in (task * 32)..<min(count, task * 32 + 32) {
                if let row = source(r) {
                    norm.normalize(row, into: destination + r * dim, isa: context.isa)
                } else {
                    (destination + r * dim).update(repeating: 0, count: dim)
                }
            }
        }
    }
}
