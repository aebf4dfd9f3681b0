import SAMQFormat

/// The encoder's layers in either precision. Each case mirrors the other's
/// contract (channels-last tokens in, channels-last tokens out), so the
/// encoder's control flow is the same for both paths.

/// Patch embedding: a `patch × patch`, stride-`patch` convolution.
enum PatchEmbedding {
    case float32(Conv2d)
    case int8(QuantizedPatchEmbed)

    init(weights: WeightProvider, config e: ModelConfig.ImageEncoder, context: Int8Context?) throws {
        let prefix = "image_encoder.patch_embed.proj"
        if let context {
            self = .int8(try QuantizedPatchEmbed(weights: weights, prefix: prefix, inChannels: e.inChans,
                                                 embedDim: e.embedDim, patchSize: e.patchSize, context: context))
        } else {
            self = .float32(try Conv2d(weights: weights, prefix: prefix, inChannels: e.inChans, outChannels: e.embedDim,
                                       kernel: e.patchSize, stride: e.patchSize))
        }
    }

    /// `input` is the `C × S × S` image tensor; returns `[g][g][dim]`.
    func callAsFunction(_ input: [Float], size: Int) throws -> [Float] {
        switch self {
        case let .float32(conv):
            let channels = input.count / (size * size)
            return conv(Tensor.transpose(input, rows: channels, cols: size * size), height: size, width: size)
        case let .int8(embed):
            return try embed(image: input, height: size, width: size)
        }
    }
}

/// One transformer block.
enum EncoderBlock {
    case float32(ViTBlock)
    case int8(Int8ViTBlock)

    init(weights: WeightProvider, index: Int, config: ModelConfig, context: Int8Context?,
         attention: EncoderAttentionPrecision = .int8) throws {
        if let context {
            self = .int8(try Int8ViTBlock(weights: weights, index: index, config: config, context: context,
                                          attention: attention))
        } else {
            self = .float32(try ViTBlock(weights: weights, index: index, config: config))
        }
    }

    func apply(_ x: inout [Float], grid: Int) throws {
        switch self {
        case let .float32(block): block.apply(&x, grid: grid)
        case let .int8(block): try block.apply(&x, grid: grid)
        }
    }
}

/// The neck's bias-free convolutions (1×1, then 3×3 with padding 1).
enum NeckConv {
    case float32(Conv2d)
    case int8(QuantizedConv2d)

    init(weights: WeightProvider, prefix: String, inChannels: Int, outChannels: Int, kernel: Int,
         context: Int8Context?) throws {
        let padding = kernel / 2
        if let context {
            self = .int8(try QuantizedConv2d(weights: weights, prefix: prefix, inChannels: inChannels,
                                             outChannels: outChannels, kernel: kernel, padding: padding, bias: false,
                                             context: context))
        } else {
            self = .float32(try Conv2d(weights: weights, prefix: prefix, inChannels: inChannels, outChannels: outChannels,
                                       kernel: kernel, padding: padding, bias: false))
        }
    }

    /// `x` is `[size][size][inChannels]`.
    func callAsFunction(_ x: [Float], size: Int) throws -> [Float] {
        switch self {
        case let .float32(conv): return conv(x, height: size, width: size)
        case let .int8(conv): return try conv(x, height: size, width: size)
        }
    }
}

/// Patch embedding plus the absolute position embedding.
struct EncoderStem {
    static let positionName = "image_encoder.pos_embed"
    let patchEmbed: PatchEmbedding
    /// `[g][g][dim]`; nil when streamed: read after the patch GEMM, so
    /// compute starts before the largest non-block tensor is decoded.
    let positionEmbedding: [Float]?
    private let weights: WeightProvider

    init(weights: WeightProvider, config e: ModelConfig.ImageEncoder, context: Int8Context?, resident: Bool) throws {
        self.weights = weights
        patchEmbed = try PatchEmbedding(weights: weights, config: e, context: context)
        positionEmbedding = resident ? try Self.positions(weights, e) : nil
    }

    /// pos_embed is [1, H, W, C] at the pretraining grid. The reference adds
    /// it without interpolation, so it must match the grid exactly.
    private static func positions(_ weights: WeightProvider, _ e: ModelConfig.ImageEncoder) throws -> [Float] {
        try weights.tensor(positionName, shape: [1, e.gridSize, e.gridSize, e.embedDim])
    }

    /// Tokens `[g][g][dim]` of the `C × S × S` input; `beforeCompute` runs
    /// once the weights are ready, right before the first GEMM.
    func apply(_ input: [Float], config e: ModelConfig.ImageEncoder, beforeCompute: () -> Void = {}) throws -> [Float] {
        beforeCompute()
        var x = try patchEmbed(input, size: e.imgSize)
        let positions = try positionEmbedding ?? Self.positions(weights, e)
        for i in x.indices { x[i] += positions[i] }
        return x
    }

    static func validateShapes(weights: WeightProvider, config e: ModelConfig.ImageEncoder) throws {
        let prefix = "image_encoder.patch_embed.proj"
        try weights.requireShape(prefix + ".weight", [e.embedDim, e.inChans, e.patchSize, e.patchSize])
        try weights.requireShape(prefix + ".bias", [e.embedDim])
        try weights.requireShape(positionName, [1, e.gridSize, e.gridSize, e.embedDim])
    }
}

/// The neck: 1×1 conv, LayerNorm2d, 3×3 conv, LayerNorm2d.
struct EncoderNeck {
    let conv1: NeckConv
    let norm1: LayerNorm
    let conv2: NeckConv
    let norm2: LayerNorm

    init(weights: WeightProvider, config e: ModelConfig.ImageEncoder, context: Int8Context?) throws {
        conv1 = try NeckConv(weights: weights, prefix: "image_encoder.neck.0", inChannels: e.embedDim,
                             outChannels: e.outChans, kernel: 1, context: context)
        norm1 = try LayerNorm(weights: weights, prefix: "image_encoder.neck.1", dimension: e.outChans,
                              epsilon: LayerNorm.layerNorm2dEpsilon)
        conv2 = try NeckConv(weights: weights, prefix: "image_encoder.neck.2", inChannels: e.outChans,
                             outChannels: e.outChans, kernel: 3, context: context)
        norm2 = try LayerNorm(weights: weights, prefix: "image_encoder.neck.3", dimension: e.outChans,
                              epsilon: LayerNorm.layerNorm2dEpsilon)
    }

    /// Block output `[g][g][dim]` → embedding `C × g × g`.
    func apply(_ x: [Float], grid g: Int, outChans: Int) throws -> [Float] {
        var y = try conv1(x, size: g)
        norm1.applyInPlace(&y)
        y = try conv2(y, size: g)
        norm2.applyInPlace(&y)
        return Tensor.transpose(y, rows: g * g, cols: outChans)
    }

    static func validateShapes(weights: WeightProvider, config e: ModelConfig.ImageEncoder) throws {
        try weights.requireShape("image_encoder.neck.0.weight", [e.outChans, e.embedDim, 1, 1])
        try weights.requireShape("image_encoder.neck.2.weight", [e.outChans, e.outChans, 3, 3])
        for norm in ["image_encoder.neck.1", "image_encoder.neck.3"] {
            try weights.requireShape(norm + ".weight", [e.outChans])
            try weights.requireShape(norm + ".bias", [e.outChans])
        }
    }
}
