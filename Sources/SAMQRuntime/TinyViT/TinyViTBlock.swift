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
        if let fused = mlp.fused {
            try localConvAndMLP(&x, height: height, width: width, stripPixels: stripPixels, scratch: scratch, mlp: fused)
            return
        }
        try localConvInPlace(&x, height: height, width: width, stripPixels: stripPixels, scratch: scratch)
        try mlp.apply(&x, scratch: scratch)
    }

    /// The local conv and the int8 MLP pipelined over strips of rows, without
    /// copying the map: strip k's conv reads its rows (and halo) of `x` in
    /// place, all still the block's input, into one of two buffers; then the
    /// MLP of strip k − 1 reads that strip's conv output from the other buffer
    /// and writes `x`'s rows of strip k − 1, which no later conv reads (strip
    /// k's halo row was read just before). The conv used to copy each strip
    /// in and each result back (two passes over the map per block, ~1% of
    /// a vit_t encode in memmove, plus two parallel loops per strip). Every
    /// row's arithmetic is unchanged (the conv's exact rows, the MLP per row),
    /// so the bits are the same.
    func localConvAndMLP(_ x: inout [Float], height: Int, width: Int, stripPixels: Int, scratch: StripScratch,
                         mlp fused: FusedInt8MLP) throws {
        let rowSize = width * localConv.channels
        let band = max(1, min(height, 2 * stripPixels / max(width, 1)))
        let buffers = [scratch.floats(.localStrip, (band + 2) * rowSize), scratch.floats(.localResult, (band + 2) * rowSize)]
        let context = fused.fc1.context
        try x.withUnsafeMutableBufferPointer { xb in
            let base = xb.baseAddress!
            var pending: (rows: Range<Int>, values: UnsafeMutablePointer<Float>)?
            var r0 = 0, strip = 0
            while r0 < height {
                let r1 = min(height, r0 + band)
                let rows = max(0, r0 - 1)..<min(height, r1 + 1)
                let out = buffers[strip % 2]
                let first = try localConv.runWholeStrip(input: base + rows.lowerBound * rowSize, inputRows: rows,
                                                        width: width, stride: 1, output: out, gelu: false,
                                                        isa: context.isa, pool: context.pool)
                if let (done, values) = pending {
                    try fused.apply(values, into: base + done.lowerBound * rowSize, tokens: done.count * width,
                                    scratch: scratch)
                }
                pending = (r0..<r1, out + (r0 - first) * rowSize)
                r0 = r1
                strip += 1
            }
            if let (done, values) = pending {
                try fused.apply(values, into: base + done.lowerBound * rowSize, tokens: done.count * width,
                                scratch: scratch)
            }
        }
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
