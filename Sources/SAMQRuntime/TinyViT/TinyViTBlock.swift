import SAMQFormat

/// One `TinyViTBlock`: windowed attention with learned offset biases (+
/// residual), the local depthwise 3×3 conv (folded BatchNorm, no residual),
/// then the MLP (+ residual). Channels-last tokens in and out.
struct TinyViTBlock {
    let attention: WindowAttention
    let localConv: DepthwiseConv3x3
    let mlp: TinyViTMLP

    init(weights: WeightProvider, prefix: String, dim: Int, heads: Int, window: Int, mlpHidden: Int,
         context: Int8Context?) throws {
        attention = try WindowAttention(weights: weights, prefix: prefix + ".attn", dim: dim, heads: heads,
                                        window: window, context: context)
        localConv = try DepthwiseConv3x3(weights: weights, prefix: prefix + ".local_conv", channels: dim)
        mlp = try TinyViTMLP(weights: weights, prefix: prefix + ".mlp", dim: dim, hidden: mlpHidden, context: context)
    }

    func apply(_ x: inout [Float], height: Int, width: Int) throws {
        try attention.apply(&x, height: height, width: width)
        x = localConv(x, height: height, width: width)
        try mlp.apply(&x)
    }
}
