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
        // Token-only layers keep f16 weights as stored (half the memory, read
        // once per prompt by the f16 kernel); the folded cross-attentions
        // read their matrices directly and keep f32.
        selfAttention = try DecoderAttention(weights: weights, prefix: prefix + ".self_attn", dim: dim,
                                             heads: d.numHeads, downsampleRate: 1, keepingHalfPrecision: true)
        norm1 = try norm("norm1")
        crossTokenToImage = try DecoderAttention(weights: weights, prefix: prefix + ".cross_attn_token_to_image", dim: dim,
                                                 heads: d.numHeads, downsampleRate: d.attentionDownsampleRate)
        norm2 = try norm("norm2")
        lin1 = try Linear(weights: weights, prefix: prefix + ".mlp.lin1", inFeatures: dim, outFeatures: d.transformerMlpDim,
                          keepingHalfPrecision: true)
        lin2 = try Linear(weights: weights, prefix: prefix + ".mlp.lin2", inFeatures: d.transformerMlpDim, outFeatures: dim,
                          keepingHalfPrecision: true)
        norm3 = try norm("norm3")
        norm4 = try norm("norm4")
        crossImageToToken = try DecoderAttention(weights: weights, prefix: prefix + ".cross_attn_image_to_token", dim: dim,
                                                 heads: d.numHeads, downsampleRate: d.attentionDownsampleRate)
        skipFirstLayerPositionalEncoding = skipFirstLayerPE
    }

    /// One block. `imagePrefix` (layer 0 only) holds the block's prompt-independent
    /// projections of `keys`, which must then be the `image + dense` they came from.
    /// With `int8`, the image-sized products of the cross-attentions run on
    /// the int8 kernels (W8A8) on that context's scratch; the token-sized
    /// work stays f32. There, `quantizedKeys` may carry `keys + keyPE` (and `keys`)
    /// already quantized (by the previous block), and the block returns its
    /// new keys quantized the same way for the next cross-attention (nil when
    /// it has none to give: f32, or not 8 heads).
    /// `valueProjection` (int8, layers after the first, given with
    /// `incoming.plain`) runs token→image streamed, with the values projected
    /// on the int8 kernels; `nextProjectsValues` asks for the returned keys'
    /// plain rows too. `deferredKeys` (layer 0 of the int8 path, 8 heads):
    /// `keys` entering are that `image + dense`, built inside the image→token
    /// tail (its only reader) instead of beforehand; `keys` must have the size.
    @discardableResult
    func apply(queries: inout [Float], keys: inout [Float], queryPE: [Float], keyPE: [Float],
               imagePrefix: TwoWayImagePrefix? = nil, int8: Int8Context? = nil,
               quantizedKeys incoming: QuantizedImageKeys? = nil, valueProjection: QuantizedLinear? = nil,
               nextProjectsValues: Bool = false, deferredKeys: DeferredKeys? = nil) throws -> QuantizedImageKeys? {
        precondition(deferredKeys == nil || (int8 != nil && imagePrefix?.quantizedImageToTokenQuery != nil),
                     "internal: deferred keys need the cached int8 layer-0 path")
        if skipFirstLayerPositionalEncoding {
            queries = selfAttention(q: queries, k: queries, v: queries)
        } else {
            let q = Tensor.add(queries, queryPE)
            selfAttention.accumulate(q: q, k: q, v: queries, into: &queries)
        }
        norm1.applyInPlace(&queries)

        var q = Tensor.add(queries, queryPE)
        // keys + PE: the same for both cross-attentions (keys change only at the end of the block).
        // On the int8 path (8 heads, as in SAM) both read it quantized, so it is
        // quantized once and never stored as f32.
        let quantizedKeys = imagePrefix == nil && crossImageToToken.heads == 8
            ? int8.map { incoming?.withPE
                ?? QuantizedImageRows.keysWithPE(keys, keyPE, width: crossTokenToImage.qProj.inFeatures, context: $0) }
            : nil
        let keysWithPE = imagePrefix == nil && quantizedKeys == nil ? Tensor.add(keys, keyPE) : []
        if let quantizedKeys, let int8, let valueProjection, let plain = incoming?.plain {
            try crossTokenToImage.accumulateTokenToImage(tokens: q, quantizedKeys: quantizedKeys, quantizedValues: plain,
                                                         valueProjection: valueProjection, into: &queries, int8: int8)
        } else if let quantizedKeys, let int8 {
            try crossTokenToImage.accumulateTokenToImage(tokens: q, quantizedKeys: quantizedKeys, values: keys,
                                                         into: &queries, int8: int8)
        } else if let imagePrefix {
            crossTokenToImage.accumulateTokenToImage(tokens: q, headKeys: imagePrefix.tokenToImageKey,
                                                     headValues: imagePrefix.tokenToImageValue, into: &queries)
        } else if let int8 {
            try crossTokenToImage.accumulateTokenToImage(tokens: q, keysWithPE: keysWithPE, values: keys,
                                                         into: &queries, int8: int8)
        } else {
            crossTokenToImage.accumulateTokenToImage(tokens: q, keysWithPE: keysWithPE, values: keys,
                                                     into: &queries)
        }
        norm2.applyInPlace(&queries)

        // MLPBlock with the transformer's activation: ReLU.
        lin2.accumulate(lin1(queries, activation: .relu), into: &queries)
        norm3.applyInPlace(&queries)

        q = Tensor.add(queries, queryPE)
        let image: DecoderAttention.ImageQueries = imagePrefix.map { .projected($0.imageToTokenQuery) } ?? .raw(keysWithPE)
        // The int8 entry points apply norm4 themselves, fused with P·U, and
        // quantize the new keys + PE for the next cross-attention on the way.
        if let int8, let quantized = quantizedKeys ?? imagePrefix?.quantizedImageToTokenQuery {
            return try crossImageToToken.accumulateImageToToken(quantizedImage: quantized, projected: imagePrefix != nil,
                                                                tokensWithPE: q, tokens: queries, into: &keys,
                                                                norm: norm4, quantizingWith: keyPE,
                                                                quantizingPlain: nextProjectsValues,
                                                                residualSource: deferredKeys, int8: int8)
        } else if let int8 {
            return try crossImageToToken.accumulateImageToToken(image: image, tokensWithPE: q, tokens: queries,
                                                                into: &keys, norm: norm4, quantizingWith: keyPE,
                                                                quantizingPlain: nextProjectsValues, int8: int8)
        } else {
            crossImageToToken.accumulateImageToToken(image: image, tokensWithPE: q, tokens: queries, into: &keys)
            DecoderLayerNorm.applyInPlace(norm4, &keys)
            return nil
        }
    }
}

/// `image + dense`, the keys entering the first block, not yet materialized.
struct DeferredKeys {
    let image: [Float]
    let dense: DenseEmbedding
}

/// Image rows a block leaves quantized for the next cross-attention (int8 path).
struct QuantizedImageKeys {
    /// `keys + PE`, read by both cross-attentions' scores.
    let withPE: QuantizedRows
    /// `keys`, for a next token→image attention that projects its values on
    /// the int8 kernels (streamed); nil otherwise.
    let plain: QuantizedRows?
}

/// The prompt-independent part of the first block's work for one image
/// embedding and one dense prompt embedding: the block's image-side inputs
/// and their projections. With no mask input the dense embedding is the same
/// `no_mask_embed` broadcast for every prompt, so this is computed once per
/// image and reused by every prompt (bit-identical to computing it per prompt).
///
/// `image + dense` itself (the keys entering layer 0) is not kept: each
/// prompt needs its own copy to update anyway, so it is rebuilt per prompt
/// (`DenseEmbedding.added(to:)`, the cost of that copy) instead of holding
/// another image-sized array (4 MB for vit_b).
struct TwoWayImagePrefix {
    let imagePE: [Float]
    /// Layer 0 token→image `k_proj(source + pe)` and `v_proj(source)`, per
    /// head (`DecoderAttention.headKeys`, `headValues`).
    let tokenToImageKey: [Float]
    let tokenToImageValue: [Float]
    /// Layer 0 image→token `q_proj(source + pe)`; empty on the int8 path,
    /// which keeps only its quantized rows.
    let imageToTokenQuery: [Float]
    /// The same rows quantized for the int8 path (once per image instead of per prompt).
    let quantizedImageToTokenQuery: QuantizedRows?
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

    /// The prompt-independent first-block work for `source = image + dense` (`[h*w][C]`).
    /// With `int8`, the image→token query rows are kept quantized only (8 heads).
    func imagePrefix(source: [Float], imagePE: [Float], int8: Int8Context? = nil) -> TwoWayImagePrefix {
        let first = layers[0]
        let tokenToImage = first.crossTokenToImage, imageToToken = first.crossImageToToken
        // Scoped so that `source + pe` (4 MB for vit_b) is freed before the per-head copies are made.
        var (query, key) = { () -> ([Float], [Float]) in
            let withPE = Tensor.add(source, imagePE)
            return (imageToToken.qProj(withPE), tokenToImage.kProj(withPE))
        }()
        let quantized = imageToToken.heads == 8 ? int8.map {
            QuantizedImageRows.rows(query, width: imageToToken.internalDim, context: $0)
        } : nil
        if quantized != nil { query = [] }
        let headKeys = tokenToImage.headKeys(key)
        key = []
        return TwoWayImagePrefix(imagePE: imagePE,
                                 tokenToImageKey: headKeys,
                                 tokenToImageValue: tokenToImage.headValues(tokenToImage.vProj(source)),
                                 imageToTokenQuery: query,
                                 quantizedImageToTokenQuery: quantized)
    }

    /// Runs the transformer from a precomputed `imagePrefix(source:imagePE:)`,
    /// with `keys` entering as that `source` (`[h*w][C]`, updated in place:
    /// pass a uniquely referenced array, or it is copied) and `tokens` `[N][C]`;
    /// the image-sized products run on the int8 kernels when `int8` is given
    /// (with `projections`, also the token→image value projections).
    /// Returns the processed tokens; `keys` ends as the processed image.
    /// `deferredKeys`: `keys` enter as that `image + dense` instead (any
    /// contents): built where first read on the int8 path, else here.
    /// On the int8 path `quantizedKeys` are the processed image rows quantized
    /// per row when a block already quantized them (`samq_quantize_rows`'
    /// bytes, for the upscaling's first GEMM); nil otherwise.
    func apply(prefix: TwoWayImagePrefix, keys: inout [Float], tokens: [Float],
               int8: Int8Context? = nil, projections: TwoWayInt8Projections? = nil,
               deferredKeys: DeferredKeys? = nil) throws -> (tokens: [Float], quantizedKeys: QuantizedRows?) {
        let imagePE = prefix.imagePE
        var deferred = deferredKeys
        if let source = deferred, int8 == nil || prefix.quantizedImageToTokenQuery == nil {
            keys = source.dense.added(to: source.image, pool: int8?.pool)
            deferred = nil
        } else if let source = deferred, keys.count != source.image.count {
            keys = [Float](unsafeUninitializedCapacity: source.image.count) { $1 = source.image.count }
        }
        var queries = tokens
        var quantizedKeys: QuantizedImageKeys?    // int8 path: quantized by the block that made them
        for (i, layer) in layers.enumerated() {
            quantizedKeys = try layer.apply(queries: &queries, keys: &keys, queryPE: tokens, keyPE: imagePE,
                                            imagePrefix: i == 0 ? prefix : nil, int8: int8,
                                            quantizedKeys: quantizedKeys,
                                            valueProjection: projections?.tokenToImageValue[i],
                                            nextProjectsValues: projections?.tokenToImageValue[i + 1] != nil,
                                            deferredKeys: i == 0 ? deferred : nil)
        }
        let q = Tensor.add(queries, tokens)
        if let int8 {
            let k = quantizedKeys?.withPE
                ?? QuantizedImageRows.keysWithPE(keys, imagePE, width: finalAttention.qProj.inFeatures, context: int8)
            if let valueProjection = projections?.tokenToImageValue[layers.count], let plain = quantizedKeys?.plain {
                try finalAttention.accumulateTokenToImage(tokens: q, quantizedKeys: k, quantizedValues: plain,
                                                          valueProjection: valueProjection, into: &queries, int8: int8)
            } else {
                try finalAttention.accumulateTokenToImage(tokens: q, quantizedKeys: k, values: keys, into: &queries,
                                                          int8: int8)
            }
        } else {
            let k = Tensor.add(keys, imagePE)
            finalAttention.accumulateTokenToImage(tokens: q, keysWithPE: k, values: keys, into: &queries)
        }
        finalNorm.applyInPlace(&queries)
        return (queries, quantizedKeys?.plain)
    }
}

/// Quantizing image-sized decoder operands (`[P][width]`) on a context's kernels and pool.
enum QuantizedImageRows {
    /// `keys + pe`, quantized per row.
    static func keysWithPE(_ keys: [Float], _ pe: [Float], width: Int, context: Int8Context) -> QuantizedRows {
        precondition(keys.count == pe.count && width > 0 && keys.count % width == 0, "internal: keys and PE sizes")
        return keys.withUnsafeBufferPointer { k in
            pe.withUnsafeBufferPointer { p in
                QuantizedRows(quantizing: k.baseAddress!, plus: p.baseAddress!, rows: keys.count / width, cols: width,
                              isa: context.isa, pool: context.pool)
            }
        }
    }

    /// `rows`, quantized per row.
    static func rows(_ rows: [Float], width: Int, context: Int8Context) -> QuantizedRows {
        precondition(width > 0 && rows.count % width == 0, "internal: row width")
        return rows.withUnsafeBufferPointer {
            QuantizedRows(quantizing: $0.baseAddress!, plus: nil, rows: rows.count / width, cols: width,
                          isa: context.isa, pool: context.pool)
        }
    }
}
