import SAMQFormat

/// SAM's ViT image encoder (`ImageEncoderViT`): patch embedding, absolute
/// position embedding, windowed/global blocks with decomposed rel-pos, neck.
///
/// Input: the preprocessed (normalized, padded) `3 × S × S` tensor.
/// Output: the `C × g × g` image embedding (C = `outChans`, g = S / patch).
public final class ImageEncoderViT {
    /// Where the transformer blocks' weights live between encodes.
    public enum WeightResidency: Sendable {
        /// All blocks decoded once at init (fastest for repeated encodes).
        case resident
        /// Each block is read from the provider when it runs and dropped after:
        /// peak memory holds one block (vit_h f32: ~80 MB instead of ~2.5 GB).
        case streamed
    }

    public let config: ModelConfig
    public let residency: WeightResidency
    public let precision: EncoderPrecision
    let weights: WeightProvider
    /// Set for the int8 path: kernel family, thread pool, scratch memory.
    let int8: Int8Context?
    let patchEmbed: PatchEmbedding
    let positionEmbedding: [Float]     // [g][g][dim]
    let blocks: [EncoderBlock]         // empty when streamed
    let neckConv1: NeckConv
    let neckNorm1: LayerNorm
    let neckConv2: NeckConv
    let neckNorm2: LayerNorm
    /// Called after each transformer block with `(done, total)`, so a CLI can
    /// show progress during a multi-second encode on a slow board.
    public var progress: ((_ completedBlocks: Int, _ totalBlocks: Int) -> Void)?

    public init(weights: WeightProvider, residency: WeightResidency = .resident,
                precision: EncoderPrecision? = nil) throws {
        let config = weights.config
        let e = config.imageEncoder
        try Self.validate(e)
        self.config = config
        self.residency = residency
        self.weights = weights
        let precision = try precision ?? EncoderPrecision.automatic(for: weights)
        self.precision = precision
        let int8 = precision == .int8 ? try Int8Context.fromEnvironment() : nil
        self.int8 = int8
        patchEmbed = try PatchEmbedding(weights: weights, config: e, context: int8)
        // pos_embed is [1, H, W, C] at the pretraining grid. The reference adds
        // it without interpolation, so it must match the grid exactly.
        positionEmbedding = try weights.tensor("image_encoder.pos_embed", shape: [1, e.gridSize, e.gridSize, e.embedDim])
        if residency == .resident {
            blocks = try (0..<e.depth).map { try EncoderBlock(weights: weights, index: $0, config: config, context: int8) }
        } else {
            // Check every block tensor's presence and shape now, without reading data.
            try ViTBlock.validateShapes(weights: weights, config: config)
            blocks = []
        }
        neckConv1 = try NeckConv(weights: weights, prefix: "image_encoder.neck.0", inChannels: e.embedDim,
                                 outChannels: e.outChans, kernel: 1, context: int8)
        neckNorm1 = try LayerNorm(weights: weights, prefix: "image_encoder.neck.1", dimension: e.outChans,
                                  epsilon: LayerNorm.layerNorm2dEpsilon)
        neckConv2 = try NeckConv(weights: weights, prefix: "image_encoder.neck.2", inChannels: e.outChans,
                                 outChannels: e.outChans, kernel: 3, context: int8)
        neckNorm2 = try LayerNorm(weights: weights, prefix: "image_encoder.neck.3", dimension: e.outChans,
                                  epsilon: LayerNorm.layerNorm2dEpsilon)
    }

    static func validate(_ e: ModelConfig.ImageEncoder) throws {
        guard e.kind == "vit" else { throw SAMRuntimeError.invalidConfig("image encoder kind '\(e.kind)' is not 'vit'") }
        guard e.patchSize > 0, e.imgSize > 0, e.imgSize % e.patchSize == 0 else {
            throw SAMRuntimeError.invalidConfig("image size \(e.imgSize) is not a multiple of patch size \(e.patchSize)")
        }
        guard e.embedDim > 0, e.numHeads > 0, e.embedDim % e.numHeads == 0, e.depth >= 0, e.mlpDim > 0,
              e.outChans > 0, e.inChans > 0, e.windowSize >= 0 else {
            throw SAMRuntimeError.invalidConfig("image encoder sizes must be positive and heads must divide embed dim")
        }
        guard e.globalAttnIndexes.allSatisfy({ $0 >= 0 && $0 < e.depth }) else {
            throw SAMRuntimeError.invalidConfig("global attention indexes \(e.globalAttnIndexes) exceed depth \(e.depth)")
        }
    }

    /// Shape of the input tensor, `[inChans, imgSize, imgSize]`.
    public var inputShape: [Int] {
        let e = config.imageEncoder
        return [e.inChans, e.imgSize, e.imgSize]
    }

    /// Shape of the embedding, `[outChans, grid, grid]`.
    public var outputShape: [Int] {
        let e = config.imageEncoder
        return [e.outChans, e.gridSize, e.gridSize]
    }

    /// Encodes a preprocessed `3 × S × S` tensor (C order) into `C × g × g`.
    public func encode(_ input: [Float]) throws -> [Float] {
        let e = config.imageEncoder
        guard input.count == inputShape.reduce(1, *) else {
            throw SAMRuntimeError.inputShapeMismatch(what: "image tensor", expected: inputShape, actualCount: input.count)
        }
        guard input.allSatisfy({ $0.isFinite }) else { throw SAMRuntimeError.nonFiniteInput(what: "image tensor") }
        let g = e.gridSize
        var x = try patchEmbed(input, size: e.imgSize)
        for i in x.indices { x[i] += positionEmbedding[i] }
        for index in 0..<e.depth {
            if residency == .resident {
                try blocks[index].apply(&x, grid: g)
            } else {
                try EncoderBlock(weights: weights, index: index, config: config, context: int8).apply(&x, grid: g)
            }
            progress?(index + 1, e.depth)
        }
        var y = try neckConv1(x, size: g)
        neckNorm1.applyInPlace(&y)
        y = try neckConv2(y, size: g)
        neckNorm2.applyInPlace(&y)
        return Tensor.transpose(y, rows: g * g, cols: e.outChans)
    }
}
