import SAMQFormat

/// TinyViT's `PatchMerging`: 1×1 conv + GELU, depthwise 3×3 (stride 2, or 1
/// into the last stage) + GELU, 1×1 conv; BatchNorms folded. Channels-last
/// tokens in and out.
///
/// Runs over bands of output rows so the widened input-resolution map
/// (vit_t's first merge: 256×256×128) is never whole.
struct PatchMerging {
    let conv1: TokenLinear
    let conv2: DepthwiseConv3x3
    let conv3: TokenLinear
    let inChannels: Int
    let outChannels: Int

    init(weights: WeightProvider, prefix: String, inChannels: Int, outChannels: Int, stride: Int,
         context: Int8Context?) throws {
        conv1 = try TokenLinear(weights: weights, prefix: prefix + ".conv1", inputs: inChannels, outputs: outChannels,
                                view: .conv, context: context)
        conv2 = try DepthwiseConv3x3(weights: weights, prefix: prefix + ".conv2", channels: outChannels, stride: stride)
        conv3 = try TokenLinear(weights: weights, prefix: prefix + ".conv3", inputs: outChannels, outputs: outChannels,
                                view: .conv, context: context)
        self.inChannels = inChannels
        self.outChannels = outChannels
    }

    func outputSize(_ input: Int) -> Int { conv2.outputSize(input) }

    /// `x` is `[height][width][inChannels]`; returns `[outH][outW][outChannels]`.
    func callAsFunction(_ x: [Float], height: Int, width: Int) throws -> [Float] {
        precondition(x.count == height * width * inChannels, "internal PatchMerging input of the wrong size")
        let s = conv2.stride
        let oh = outputSize(height), ow = outputSize(width)
        let band = max(1, min(oh, 1024 / max(ow, 1)))
        let maxRows = min(height, (band - 1) * s + 3)
        let expanded = UnsafeMutablePointer<Float>.allocate(capacity: maxRows * width * outChannels)
        let middle = UnsafeMutablePointer<Float>.allocate(capacity: band * ow * outChannels)
        defer { expanded.deallocate(); middle.deallocate() }
        var out = [Float](repeating: 0, count: oh * ow * outChannels)
        try x.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                var o0 = 0
                while o0 < oh {
                    let o1 = min(oh, o0 + band)
                    let rows = max(0, o0 * s - 1)..<min(height, (o1 - 1) * s + 2)
                    try conv1.forward(rows: rows.count * width, input: src.baseAddress! + rows.lowerBound * width * inChannels,
                                      output: expanded, gelu: true)
                    conv2.run(input: expanded, inputFirstRow: rows.lowerBound, height: height, width: width,
                              output: middle, outputRows: o0..<o1, gelu: true)
                    try conv3.forward(rows: (o1 - o0) * ow, input: middle,
                                      output: dst.baseAddress! + o0 * ow * outChannels)
                    o0 = o1
                }
            }
        }
        return out
    }
}
