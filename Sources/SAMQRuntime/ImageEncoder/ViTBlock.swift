import SAMQFormat

/// One ViT block (`Block` in image_encoder.py): pre-norm windowed or global
/// attention and a GELU MLP, each with a residual.
struct ViTBlock {
    let norm1: LayerNorm
    let attention: ViTAttention
    let norm2: LayerNorm
    let lin1: Linear
    let lin2: Linear
    /// 0 for a global-attention block.
    let windowSize: Int

    init(weights: WeightProvider, index: Int, config: ModelConfig) throws {
        let prefix = "image_encoder.blocks.\(index)"
        let e = config.imageEncoder
        windowSize = e.globalAttnIndexes.contains(index) ? 0 : e.windowSize
        let attendedSize = windowSize > 0 ? windowSize : e.gridSize
        norm1 = try LayerNorm(weights: weights, prefix: prefix + ".norm1", dimension: e.embedDim,
                              epsilon: LayerNorm.vitEpsilon)
        norm2 = try LayerNorm(weights: weights, prefix: prefix + ".norm2", dimension: e.embedDim,
                              epsilon: LayerNorm.vitEpsilon)
        let expectedLength = e.relPosLengths.flatMap { index < $0.count ? $0[index] : nil }
        attention = try ViTAttention(weights: weights, prefix: prefix + ".attn", dim: e.embedDim, heads: e.numHeads,
                                     size: attendedSize, qkvBias: e.qkvBias, useRelPos: e.useRelPos,
                                     expectedRelPosLength: expectedLength)
        lin1 = try Linear(weights: weights, prefix: prefix + ".mlp.lin1", inFeatures: e.embedDim, outFeatures: e.mlpDim)
        lin2 = try Linear(weights: weights, prefix: prefix + ".mlp.lin2", inFeatures: e.mlpDim, outFeatures: e.embedDim)
    }

    /// Checks that every block tensor exists with the shape the config implies
    /// (rel-pos tables: any length, the runtime interpolates), reading no data.
    static func validateShapes(weights: WeightProvider, config: ModelConfig) throws {
        let e = config.imageEncoder
        let d = e.embedDim, hd = e.embedDim / e.numHeads
        for index in 0..<e.depth {
            let p = "image_encoder.blocks.\(index)"
            var expected: [(String, [Int])] = [
                (".norm1.weight", [d]), (".norm1.bias", [d]), (".norm2.weight", [d]), (".norm2.bias", [d]),
                (".attn.qkv.weight", [3 * d, d]), (".attn.proj.weight", [d, d]), (".attn.proj.bias", [d]),
                (".mlp.lin1.weight", [e.mlpDim, d]), (".mlp.lin1.bias", [e.mlpDim]),
                (".mlp.lin2.weight", [d, e.mlpDim]), (".mlp.lin2.bias", [d]),
            ]
            if e.qkvBias { expected.append((".attn.qkv.bias", [3 * d])) }
            for (suffix, shape) in expected {
                guard let actual = weights.shape(p + suffix) else { throw SAMRuntimeError.missingWeight(name: p + suffix) }
                guard actual == shape else {
                    throw SAMRuntimeError.weightShapeMismatch(name: p + suffix, expected: shape, actual: actual)
                }
            }
            if e.useRelPos {
                for axis in ["h", "w"] {
                    let name = p + ".attn.rel_pos_" + axis
                    guard let actual = weights.shape(name) else { throw SAMRuntimeError.missingWeight(name: name) }
                    guard actual.count == 2, actual[0] > 0, actual[1] == hd else {
                        throw SAMRuntimeError.weightShapeMismatch(name: name, expected: [2 * e.gridSize - 1, hd], actual: actual)
                    }
                }
            }
        }
    }

    /// `x` is `[grid][grid][dim]`, updated in place.
    func apply(_ x: inout [Float], grid: Int) {
        let dim = norm1.dimension
        let normed = norm1.apply(x)
        let attended: [Float]
        if windowSize > 0 {
            let partition = WindowPartition(height: grid, width: grid, windowSize: windowSize, channels: dim)
            let windows = attention.attend(partition.partition(normed), windows: partition.windowCount)
            attended = partition.unpartition(windows)
        } else {
            attended = attention.attend(normed, windows: 1)
        }
        // proj is per token, so applying it after unpartition (on real tokens
        // only) gives the same values as the reference's proj-then-unpartition.
        attention.proj.accumulate(attended, into: &x)
        let hidden = lin1(norm2.apply(x), activation: .gelu)
        lin2.accumulate(hidden, into: &x)
    }
}
