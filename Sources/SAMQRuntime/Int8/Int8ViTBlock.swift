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
    let qkv: QuantizedLinear
    let proj: QuantizedLinear
    let attention: Int8Attention
    let lin1: QuantizedLinear
    let lin2: QuantizedLinear
    /// 0 for a global-attention block.
    let windowSize: Int

    init(weights: WeightProvider, index: Int, config: ModelConfig, context: Int8Context) throws {
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
        qkv = try QuantizedLinear(weights: weights, prefix: prefix + ".attn.qkv", inFeatures: dim, outFeatures: 3 * dim,
                                  bias: e.qkvBias, context: context)
        proj = try QuantizedLinear(weights: weights, prefix: prefix + ".attn.proj", inFeatures: dim, outFeatures: dim,
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
        attention = try Int8Attention(heads: e.numHeads, headDim: headDim, relativePosition: relative, context: context)
        lin1 = try QuantizedLinear(weights: weights, prefix: prefix + ".mlp.lin1", inFeatures: dim, outFeatures: e.mlpDim,
                                   context: context)
        lin2 = try QuantizedLinear(weights: weights, prefix: prefix + ".mlp.lin2", inFeatures: e.mlpDim, outFeatures: dim,
                                   context: context)
    }

    /// `x` is `[grid][grid][dim]`, updated in place (same contract as `ViTBlock.apply`).
    ///
    /// The wide intermediates (qkv: tokens × 3·dim, MLP hidden: tokens × 4·dim)
    /// live in the context's reused block buffers rather than fresh arrays.
    func apply(_ x: inout [Float], grid: Int) throws {
        let dim = norm1.dimension
        let space = qkv.context.workspace
        let normed = norm1.apply(x)
        let partition = windowSize > 0
            ? WindowPartition(height: grid, width: grid, windowSize: windowSize, channels: dim) : nil
        let tokensIn = partition.map { $0.partition(normed) } ?? normed
        let rows = tokensIn.count / dim
        let batches = partition?.windowCount ?? 1
        let wide = space.blockWide.pointer(as: Float.self, count: rows * max(3 * dim, lin1.outFeatures))
        let narrow = space.blockNarrow.pointer(as: Float.self, count: rows * dim)
        try tokensIn.withUnsafeBufferPointer { (input) throws(Int8RuntimeError) in
            try qkv.forward(rows: rows, input: input.baseAddress!, ldx: dim, output: wide, ldo: 3 * dim)
        }
        try attention.attend(batches: batches, queries: rows / batches, keys: rows / batches,
                             q: wide, ldq: 3 * dim, k: wide + dim, ldk: 3 * dim, v: wide + 2 * dim, ldv: 3 * dim,
                             output: narrow, ldo: dim)
        try x.withUnsafeMutableBufferPointer { (out) throws(Int8RuntimeError) in
            if let partition {
                // proj is per token: applying it after unpartition (real
                // tokens only) equals the reference's proj-then-unpartition.
                let attended = partition.unpartition(Array(UnsafeBufferPointer(start: narrow, count: rows * dim)))
                try attended.withUnsafeBufferPointer { (a) throws(Int8RuntimeError) in
                    try proj.forward(rows: grid * grid, input: a.baseAddress!, ldx: dim, output: out.baseAddress!,
                                     ldo: dim, accumulate: true)
                }
            } else {
                try proj.forward(rows: rows, input: narrow, ldx: dim, output: out.baseAddress!, ldo: dim, accumulate: true)
            }
        }
        let normed2 = norm2.apply(x)
        let hidden = lin1.outFeatures
        try normed2.withUnsafeBufferPointer { (input) throws(Int8RuntimeError) in
            try lin1.forward(rows: grid * grid, input: input.baseAddress!, ldx: dim, output: wide, ldo: hidden,
                             activation: .gelu)
        }
        try x.withUnsafeMutableBufferPointer { (out) throws(Int8RuntimeError) in
            try lin2.forward(rows: grid * grid, input: wide, ldx: hidden, output: out.baseAddress!, ldo: dim,
                             accumulate: true)
        }
    }
}
