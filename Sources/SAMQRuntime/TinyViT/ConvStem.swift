import SAMQFormat

/// TinyViT's `PatchEmbed`: 3×3 stride-2 conv + GELU, 3×3 stride-2 conv
/// (BatchNorms folded), image side ÷ 4. The first conv (3 input channels)
/// is always f32; the second is int8 on the int8 path.
struct ConvStem {
    enum Second {
        case float32(Conv2d)
        case int8(QuantizedConv2d)
    }
    let first: Conv2d
    let second: Second
    let inChannels: Int

    init(weights: WeightProvider, outChannels: Int, inChannels: Int, context: Int8Context?) throws {
        let half = outChannels / 2
        first = try Conv2d(weights: weights, prefix: "image_encoder.patch_embed.seq.0", inChannels: inChannels,
                           outChannels: half, kernel: 3, stride: 2, padding: 1)
        let prefix = "image_encoder.patch_embed.seq.2"
        if let context, TokenLinear.isStoredInt8(weights, prefix + ".weight") {
            second = .int8(try QuantizedConv2d(weights: weights, prefix: prefix, inChannels: half, outChannels: outChannels,
                                               kernel: 3, stride: 2, padding: 1, context: context))
        } else {
            second = .float32(try Conv2d(weights: weights, prefix: prefix, inChannels: half, outChannels: outChannels,
                                         kernel: 3, stride: 2, padding: 1))
        }
        self.inChannels = inChannels
    }

    /// `image` is `C × S × S` (C order); returns `[S/4][S/4][outChannels]` and its side.
    func callAsFunction(_ image: [Float], size: Int) throws -> (tokens: [Float], side: Int) {
        let hwc = Tensor.transpose(image, rows: inChannels, cols: size * size)
        let half = first(hwc, height: size, width: size, activation: .gelu)
        let s1 = first.outputSize(size)
        switch second {
        case let .float32(conv):
            return (conv(half, height: s1, width: s1), conv.outputSize(s1))
        case let .int8(conv):
            return (try conv(half, height: s1, width: s1), conv.outputSize(s1))
        }
    }
}
