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

    func apply(_ x: inout [Float], height: Int, width: Int, stripPixels: Int, scratch: StripScratch) throws {
        try attention.apply(&x, height: height, width: width, scratch: scratch)
        try localConvInPlace(&x, height: height, width: width, stripPixels: stripPixels, scratch: scratch)
        try mlp.apply(&x, scratch: scratch)
    }

    /// The local conv over strips of rows, written back in place: a strip
    /// reads the original of the row above it, saved before it was overwritten.
    func localConvInPlace(_ x: inout [Float], height: Int, width: Int, stripPixels: Int, scratch: StripScratch) throws {
        let rowSize = width * localConv.channels
        let band = max(1, min(height, 2 * stripPixels / max(width, 1)))
        var above = [Float](repeating: 0, count: rowSize)
        let strip = scratch.floats(.localStrip, (band + 2) * rowSize)
        let result = scratch.floats(.localResult, band * rowSize)
        var r0 = 0
        while r0 < height {
            let r1 = min(height, r0 + band)
            let rows = max(0, r0 - 1)..<min(height, r1 + 1)
            try x.withUnsafeMutableBufferPointer { xb in
                let base = xb.baseAddress!
                var dst = strip
                if r0 > 0 {
                    above.withUnsafeBufferPointer { dst.update(from: $0.baseAddress!, count: rowSize) }
                    dst += rowSize
                }
                Parallel.copy(from: base + r0 * rowSize, to: dst, count: (rows.upperBound - r0) * rowSize)
                try localConv.run(input: strip, inputRows: rows, height: height, width: width, stride: 1,
                                  output: result, outputRows: r0..<r1, gelu: false, scratch: scratch)
                above.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: base + (r1 - 1) * rowSize, count: rowSize) }
                Parallel.copy(from: result, to: base + r0 * rowSize, count: (r1 - r0) * rowSize)
            }
            r0 = r1
        }
    }
}
