import SAMQFormat

/// `TwoWayAttentionBlock`: token self-attention, token→image cross-attention,
/// a ReLU MLP on the tokens, image→token cross-attention; post-norm residuals.
struct TwoWayAttentionBlock {
    let selfAttention: DecoderAttention
    let norm1: LayerNorm
    let crossTokenToImage: DecoderAttention
    let norm2: LayerNorm
    let lin1: Linear
    let lin2: Linear
    let norm3: LayerNorm
    let norm4: LayerNorm
    let crossImageToToken: DecoderAttention
    let skipFirstLayerPositionalEncoding: Bool

    init(weights: WeightProvider, prefix: String, decoder d: ModelConfig.MaskDecoder, skipFirstLayerPE: Bool) throws {
        let dim = d.transformerDim
        // nn.LayerNorm default eps (1e-5) throughout the transformer.
        func norm(_ name: String) throws -> LayerNorm {
            try LayerNorm(weights: weights, prefix: prefix + "." + name, dimension: dim, epsilon: LayerNorm.defaultEpsilon)
        }
        selfAttention = try DecoderAttention(weights: weights, prefix: prefix + ".self_attn", dim: dim,
                                             heads: d.numHeads, downsampleRate: 1)
        norm1 = try norm("norm1")
        crossTokenToImage = try DecoderAttention(weights: weights, prefix: prefix + ".cross_attn_token_to_image", dim: dim,
                                                 heads: d.numHeads, downsampleRate: d.attentionDownsampleRate)
        norm2 = try norm("norm2")
        lin1 = try Linear(weights: weights, prefix: prefix + ".mlp.lin1", inFeatures: dim, outFeatures: d.transformerMlpDim)
        lin2 = try Linear(weights: weights, prefix: prefix + ".mlp.lin2", inFeatures: d.transformerMlpDim, outFeatures: dim)
        norm3 = try norm("norm3")
        norm4 = try norm("norm4")
        crossImageToToken = try DecoderAttention(weights: weights, prefix: prefix + ".cross_attn_image_to_token", dim: dim,
                                                 heads: d.numHeads, downsampleRate: d.attentionDownsampleRate)
        skipFirstLayerPositionalEncoding = skipFirstLayerPE
    }

    func apply(queries: inout [Float], keys: inout [Float], queryPE: [Float], keyPE: [Float]) {
        if skipFirstLayerPositionalEncoding {
            queries = selfAttention(q: queries, k: queries, v: queries)
        } else {
            let q = Tensor.add(queries, queryPE)
            selfAttention.accumulate(q: q, k: q, v: queries, into: &queries)
        }
        norm1.applyInPlace(&queries)

        var q = Tensor.add(queries, queryPE)
        var k = Tensor.add(keys, keyPE)
        crossTokenToImage.accumulate(q: q, k: k, v: keys, into: &queries)
        norm2.applyInPlace(&queries)

        // MLPBlock with the transformer's activation: ReLU.
        lin2.accumulate(lin1(queries, activation: .relu), into: &queries)
        norm3.applyInPlace(&queries)

        q = Tensor.add(queries, queryPE)
        k = Tensor.add(keys, keyPE)
        crossImageToToken.accumulate(q: k, k: q, v: queries, into: &keys)
        norm4.applyInPlace(&keys)
    }
}

/// `TwoWayTransformer`: the blocks, a final token→image attention, and a LayerNorm.
struct TwoWayTransformer {
    let layers: [TwoWayAttentionBlock]
    let finalAttention: DecoderAttention
    let finalNorm: LayerNorm

    init(weights: WeightProvider, decoder d: ModelConfig.MaskDecoder) throws {
        let prefix = "mask_decoder.transformer"
        layers = try (0..<d.transformerDepth).map {
            try TwoWayAttentionBlock(weights: weights, prefix: "\(prefix).layers.\($0)", decoder: d, skipFirstLayerPE: $0 == 0)
        }
        finalAttention = try DecoderAttention(weights: weights, prefix: prefix + ".final_attn_token_to_image",
                                              dim: d.transformerDim, heads: d.numHeads,
                                              downsampleRate: d.attentionDownsampleRate)
        finalNorm = try LayerNorm(weights: weights, prefix: prefix + ".norm_final_attn", dimension: d.transformerDim,
                                  epsilon: LayerNorm.defaultEpsilon)
    }

    /// `image` and `imagePE` are `[h*w][C]`, `tokens` is `[N][C]`.
    /// Returns the processed tokens and image.
    func apply(image: [Float], imagePE: [Float], tokens: [Float]) -> (tokens: [Float], image: [Float]) {
        var queries = tokens
        var keys = image
        for layer in layers {
            layer.apply(queries: &queries, keys: &keys, queryPE: tokens, keyPE: imagePE)
        }
        let q = Tensor.add(queries, tokens)
        let k = Tensor.add(keys, imagePE)
        finalAttention.accumulate(q: q, k: k, v: keys, into: &queries)
        finalNorm.applyInPlace(&queries)
        return (queries, keys)
    }
}
