import SAMQFormat

/// A depthwise 3×3 convolution with padding 1 (folded BatchNorm bias),
/// stride 1 or 2, on channels-last maps: TinyViT's MBConv, PatchMerging and
/// local convs. Always f32: 9 weights per channel, where int8 would save
/// nothing and cost accuracy (docs/ACCURACY.md).
///
/// `run` is the single place that does the arithmetic, so a SIMD kernel can
/// replace the Swift loop in one change.
struct DepthwiseConv3x3 {
    /// Tap-major `[9][channels]` (tap = ky·3 + kx), so the inner loop runs
    /// over contiguous channels like the activations.
    let weight: [Float]
    let bias: [Float]
    let channels: Int
    let stride: Int

    init(weights: WeightProvider, prefix: String, channels: Int, stride: Int = 1) throws {
        let raw = try weights.tensor(prefix + ".weight", shape: [channels, 1, 3, 3])
        weight = Tensor.transpose(raw, rows: channels, cols: 9)
        bias = try weights.tensor(prefix + ".bias", shape: [channels])
        self.channels = channels
        self.stride = stride
    }

    func outputSize(_ input: Int) -> Int { (input - 1) / stride + 1 }

    /// Whole map: `[height][width][channels]` → `[outH][outW][channels]`.
    func callAsFunction(_ x: [Float], height: Int, width: Int, gelu: Bool = false) -> [Float] {
        precondition(x.count == height * width * channels, "internal depthwise input of the wrong size")
        let oh = outputSize(height), ow = outputSize(width)
        var out = [Float](repeating: 0, count: oh * ow * channels)
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                run(input: src.baseAddress!, inputFirstRow: 0, height: height, width: width,
                    output: dst.baseAddress!, outputRows: 0..<oh, gelu: gelu)
            }
        }
        return out
    }

    /// Output rows `outputRows` (of the whole map's output) into `output`
    /// (row `outputRows.lowerBound` first). `input` holds map rows from
    /// `inputFirstRow` on and must cover every row those outputs read
    /// (clamped to the map); rows outside the map are the zero padding.
    func run(input: UnsafePointer<Float>, inputFirstRow: Int, height: Int, width: Int,
             output: UnsafeMutablePointer<Float>, outputRows: Range<Int>, gelu: Bool) {
        let c = channels, s = stride
        let ow = outputSize(width)
        weight.withUnsafeBufferPointer { wb in
            bias.withUnsafeBufferPointer { bb in
                let w = wb.baseAddress!, b = bb.baseAddress!
                let work = outputRows.count * ow * c * 9
                let tasks = work >= 1 << 16 ? outputRows.count : 1
                Parallel.forEach(tasks: tasks) { t, _ in
                    let rows = tasks == 1 ? outputRows : (outputRows.lowerBound + t)..<(outputRows.lowerBound + t + 1)
                    for oy in rows {
                        let out = output + (oy - outputRows.lowerBound) * ow * c
                        for ox in 0..<ow {
                            let o = out + ox * c
                            o.update(from: b, count: c)
                            for ky in 0..<3 {
                                let iy = oy * s + ky - 1
                                guard iy >= 0 && iy < height else { continue }
                                let row = input + (iy - inputFirstRow) * width * c
                                for kx in 0..<3 {
                                    let ix = ox * s + kx - 1
                                    guard ix >= 0 && ix < width else { continue }
                                    let p = row + ix * c, tap = w + (ky * 3 + kx) * c
                                    for ch in 0..<c { o[ch] += tap[ch] * p[ch] }
                                }
                            }
                            if gelu { for ch in 0..<c { o[ch] = Activations.gelu(o[ch]) } }
                        }
                    }
                }
            }
        }
    }
}
