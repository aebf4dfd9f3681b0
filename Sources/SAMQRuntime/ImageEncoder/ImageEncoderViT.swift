import Dispatch
import SAMQFormat

/// SAM's ViT image encoder (`ImageEncoderViT`): patch embedding, absolute
/// position embedding, windowed/global blocks with decomposed rel-pos, neck.
///
/// Input: the preprocessed (normalized, padded) `3 × S × S` tensor.
/// Output: the `C × g × g` image embedding (C = `outChans`, g = S / patch).
public final class ImageEncoderViT {
    /// Where the encoder's weights live between encodes.
    public enum WeightResidency: Sendable {
        /// All weights decoded once at init (fastest for repeated encodes).
        case resident
        /// Nothing is read at init. Each encode builds the patch embedding,
        /// streams the blocks through two arena slots (block i + 1 decoded on
        /// a background thread while block i computes) and builds the neck,
        /// dropping each after use: weight memory is two blocks, and a
        /// process that never encodes (decoder only) never reads the encoder.
        case streamed
    }

    /// Timings of the last `encode`, for benchmarks.
    public struct EncodeStatistics: Sendable {
        /// From entering `encode` to the start of the first GEMM (weights of
        /// the patch embedding loaded, input checked).
        public var setupSeconds: Double
        /// Total time the blocks waited for their weights (streamed only:
        /// near zero when the background decode keeps ahead).
        public var weightWaitSeconds: Double
    }

    public let config: ModelConfig
    public let residency: WeightResidency
    public let precision: EncoderPrecision
    /// The int8 path's attention products (the file's choice).
    public let attentionPrecision: EncoderAttentionPrecision
    let weights: WeightProvider
    /// Set for the int8 path: kernel family, thread pool, scratch memory.
    let int8: Int8Context?
    /// Patch + position embedding and neck; nil when streamed (built per encode).
    private let residentStem: EncoderStem?
    private let residentNeck: EncoderNeck?
    let blocks: [EncoderBlock]         // empty when streamed
    /// Called after each transformer block with `(done, total)`, so a CLI can
    /// show progress during a multi-second encode on a slow board.
    public var progress: ((_ completedBlocks: Int, _ totalBlocks: Int) -> Void)?
    public private(set) var lastEncodeStatistics: EncodeStatistics?

    public convenience init(weights: WeightProvider, residency: WeightResidency = .resident,
                            precision: EncoderPrecision? = nil) throws {
        try self.init(weights: weights, residency: residency, precision: precision, int8Context: nil)
    }

    /// `int8Context` replaces the default one (tests run several thread counts).
    init(weights: WeightProvider, residency: WeightResidency, precision: EncoderPrecision?,
         int8Context: Int8Context?) throws {
        let config = weights.config
        let e = config.imageEncoder
        try Self.validate(e)
        self.config = config
        self.residency = residency
        self.weights = weights
        let precision = try precision ?? EncoderPrecision.automatic(for: weights)
        self.precision = precision
        let int8 = precision == .int8 ? try int8Context ?? Int8Context.fromEnvironment() : nil
        self.int8 = int8
        let attention = try EncoderAttentionPrecision.recorded(in: weights)
        attentionPrecision = attention
        if residency == .resident {
            residentStem = try EncoderStem(weights: weights, config: e, context: int8, resident: true)
            residentNeck = try EncoderNeck(weights: weights, config: e, context: int8)
            blocks = try (0..<e.depth).map {
                try EncoderBlock(weights: weights, index: $0, config: config, context: int8, attention: attention)
            }
        } else {
            // Check every tensor's presence and shape now, without reading data.
            try EncoderStem.validateShapes(weights: weights, config: e)
            try ViTBlock.validateShapes(weights: weights, config: config)
            try EncoderNeck.validateShapes(weights: weights, config: e)
            residentStem = nil
            residentNeck = nil
            blocks = []
        }
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
        let start = DispatchTime.now().uptimeNanoseconds
        let g = e.gridSize
        let stream = residency == .streamed ? try makeBlockStream() : nil
        defer { stream?.finish() }
        stream?.prefetch(0)   // block 0 decodes while the patch embedding runs

        let stem = try residentStem ?? EncoderStem(weights: weights, config: e, context: int8, resident: false)
        var x = try stem.apply(input, config: e) {
            let setup = DispatchTime.now().uptimeNanoseconds
            self.lastEncodeStatistics = EncodeStatistics(setupSeconds: Double(setup - start) / 1e9, weightWaitSeconds: 0)
        }
        for index in 0..<e.depth {
            if let stream {
                try stream.block(index).apply(&x, grid: g)
            } else {
                try blocks[index].apply(&x, grid: g)
            }
            progress?(index + 1, e.depth)
        }
        if let stream {
            stream.finish()
            lastEncodeStatistics?.weightWaitSeconds = Double(stream.waitNanoseconds) / 1e9
        }
        let neck = try residentNeck ?? EncoderNeck(weights: weights, config: e, context: int8)
        return try neck.apply(x, grid: g, outChans: e.outChans)
    }

    /// The streaming block source: double-buffered arena slots for a `.samq`
    /// file, else blocks built from the provider (still one block ahead).
    private func makeBlockStream() throws -> EncoderBlockStream {
        if let file = (weights as? SAMQFileWeights)?.file {
            return try EncoderBlockStream(file: file, config: config, context: int8, attention: attentionPrecision)
        }
        let weights = self.weights, config = self.config, int8 = self.int8, attention = attentionPrecision
        return EncoderBlockStream(depth: config.imageEncoder.depth, background: false) { index, _ in
            .init(block: try EncoderBlock(weights: weights, index: index, config: config, context: int8,
                                          attention: attention), borrowed: [])
        }
    }
}
