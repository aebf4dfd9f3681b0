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

    init(weights: WeightProvider, index: Int, config: ModelConfig, context: Int8Context?) throws {
        if let context {
            self = .int8(try Int8ViTBlock(weights: weights, index: index, config: config, context: context))
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
