import SAMQFormat

/// TinyViT's `PatchMerging`: 1×1 conv + GELU, depthwise 3×3 (stride 2, or 1
/// into the last stage) + GELU, 1×1 conv; BatchNorms folded. Channels-last
/// tokens in and out.
///
/// Works on strips of output rows so the widened input-resolution map
/// (vit_t's first merge: 256×256×128) is never whole.
struct PatchMerging {
    let conv1: TokenLinear
    let conv2: DepthwiseConv3x3
    let conv3: TokenLinear
    let inChannels: Int
    let outChannels: Int
    let stride: Int
    let pool: ThreadPool
    let isa: KernelISA

    init(weights: WeightProvider, prefix: String, inChannels: Int, outChannels: Int, stride: Int,
         context: Int8Context?) throws {
        conv1 = try TokenLinear(weights: weights, prefix: prefix + ".conv1", inputs: inChannels, outputs: outChannels,
                                view: .conv, context: context)
        conv2 = try DepthwiseConv3x3(weights: weights, prefix: prefix + ".conv2", channels: outChannels)
        conv3 = try TokenLinear(weights: weights, prefix: prefix + ".conv3", inputs: outChannels, outputs: outChannels,
                                view: .conv, context: context)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
        pool = context?.pool ?? .shared
        isa = context?.isa ?? .best
    }

    func outputSize(_ input: Int) -> Int { DepthwiseConv3x3.outputSize(input, stride: stride) }

    /// The input rows output rows `rows` read: from a multiple of the stride
    /// (the kernel's strip rule) at or above the first tap, to the last tap.
    func inputRows(for rows: Range<Int>, height: Int) -> Range<Int> {
        let top = max(0, rows.lowerBound * stride - 1) / stride * stride
        return top..<min(height, (rows.upperBound - 1) * stride + 2)
    }

    /// Output rows `outputRows` from `input` holding input rows `inputRows`
    /// (as returned by `inputRows(for:height:)`, or wider).
    /// `carry` (int8 path) keeps expanded rows from one strip to the next;
    /// `uniform` (int8 path; f32 computes them) names columns to copy, not compute.
    func rows(input: UnsafePointer<Float>, inputRows: Range<Int>, height: Int, width: Int,
              outputRows: Range<Int>, into output: UnsafeMutablePointer<Float>, scratch: StripScratch,
              carry: PointwiseDepthwiseColumns.Carry? = nil, uniform: PointwiseDepthwiseColumns.Uniform? = nil) throws {
        if case let .int8(expand) = conv1, case let .int8(project) = conv3 {
            let chunked = PointwiseDepthwiseColumns(expand: expand, depthwise: conv2, project: project, stride: stride)
            try chunked.rows(input: input, inputRows: inputRows, width: width, outputRows: outputRows, into: output,
                             scratch: scratch, carry: carry, uniform: uniform)
            return
        }
        let ow = outputSize(width)
        let expanded = scratch.floats(.expanded, inputRows.count * width * outChannels)
        let stripRows = outputSize(inputRows.count)
        let strip = scratch.floats(.middle, stripRows * ow * outChannels)
        try conv1.forward(rows: inputRows.count * width, input: input, output: expanded, gelu: true)
        let first = try conv2.runWholeStrip(input: expanded, inputRows: inputRows, width: width, stride: stride,
                                            output: strip, gelu: true, isa: isa, pool: pool)
        precondition(outputRows.lowerBound >= first && outputRows.upperBound <= first + stripRows,
                     "internal PatchMerging strip does not cover its rows")
        let middle = strip + (outputRows.lowerBound - first) * ow * outChannels
        try conv3.forward(rows: outputRows.count * ow, input: middle, output: output)
    }

    /// `x` is `[height][width][inChannels]`; returns `[outH][outW][outChannels]`.
    func callAsFunction(_ x: [Float], height: Int, width: Int, stripPixels: Int, scratch: StripScratch) throws -> [Float] {
        precondition(x.count == height * width * inChannels, "internal PatchMerging input of the wrong size")
        let oh = outputSize(height), ow = outputSize(width)
        let band = max(1, min(oh, stripPixels / max(ow, 1)))
        // Every row is written below (a GEMM output): no serial 8 MB zero fill first.
        var out = [Float](unsafeUninitializedCapacity: oh * ow * outChannels) { $1 = oh * ow * outChannels }
        let carry = PointwiseDepthwiseColumns.Carry()
        try x.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                var o0 = 0
                while o0 < oh {
                    let o1 = min(oh, o0 + band)
                    let rows = inputRows(for: o0..<o1, height: height)
                    try self.rows(input: src.baseAddress! + rows.lowerBound * width * inChannels, inputRows: rows,
                                  height: height, width: width, outputRows: o0..<o1,
                                  into: dst.baseAddress! + o0 * ow * outChannels, scratch: scratch, carry: carry)
                    o0 = o1
                }
            }
        }
        return out
    }
}
