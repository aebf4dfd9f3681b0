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
                        let ky0 = oy * s == 0 ? 1 : 0, ky1 = min(3, height - oy * s + 1)
                        for ox in 0..<ow {
                            let kx0 = ox * s == 0 ? 1 : 0, kx1 = min(3, width - ox * s + 1)
                            let o = out + ox * c
                            let origin = input + ((oy * s - 1 - inputFirstRow) * width + ox * s - 1) * c
                            Self.pixel(o, origin: origin, rowStride: width * c, weight: w, bias: b, channels: c,
                                       taps: (ky0..<ky1, kx0..<kx1), gelu: gelu)
                        }
                    }
                }
            }
        }
    }

    /// One output pixel: bias plus the taps inside the map, in (ky, kx)
    /// order, eight channels at a time. `origin` points at tap (0, 0), which
    /// may lie outside the map; only taps in `taps` are read.
    @inline(__always)
    private static func pixel(_ o: UnsafeMutablePointer<Float>, origin: UnsafePointer<Float>, rowStride: Int,
                              weight w: UnsafePointer<Float>, bias b: UnsafePointer<Float>, channels c: Int,
                              taps: (Range<Int>, Range<Int>), gelu: Bool) {
        #if DEBUG
        // Unoptimized builds run generic SIMD code very slowly (see Softmax).
        let vectorEnd = 0
        #else
        let vectorEnd = c & ~7
        var ch = 0
        while ch < vectorEnd {
            var acc = load(b + ch)
            for ky in taps.0 {
                for kx in taps.1 {
                    acc += load(w + (ky * 3 + kx) * c + ch) * load(origin + ky * rowStride + kx * c + ch)
                }
            }
            if gelu { acc = DecoderGELU.gelu(acc) }
            UnsafeMutableRawPointer(o + ch).storeBytes(of: acc, as: SIMD8<Float>.self)
            ch += 8
        }
        #endif
        for ch in vectorEnd..<c {
            var acc = b[ch]
            for ky in taps.0 {
                for kx in taps.1 { acc += w[(ky * 3 + kx) * c + ch] * origin[ky * rowStride + kx * c + ch] }
            }
            o[ch] = gelu ? Activations.gelu(acc) : acc
        }
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
}
