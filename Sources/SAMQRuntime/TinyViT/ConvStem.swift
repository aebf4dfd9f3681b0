import SAMQFormat

/// TinyViT's `PatchEmbed`: 3×3 stride-2 conv + GELU, 3×3 stride-2 conv
/// (BatchNorms folded), image side ÷ 4. The first conv (3 input channels)
/// is always f32; the second is int8 on the int8 path.
///
/// Runs over bands of output rows straight from the `C × S × S` input, so
/// neither a channels-last copy of the image (12 MB at 1024 px) nor the
/// half-resolution map (32 MB for vit_t) is ever whole. A band is computed
/// with the existing convolutions on a slice of rows that starts one output
/// row early (that row would see the slice's zero padding instead of the
/// real row above, so it is dropped).
struct ConvStem {
    enum Second {
        case float32(Conv2d)
        case int8(QuantizedConv2d)
    }
    let first: Conv2d
    /// `first`'s weight as `[kh·kw·in][out]`: with 27-long patches the GEMM
    /// runs faster with B as `[K][N]` (no per-output horizontal sums).
    let firstWeightKN: [Float]
    let second: Second
    let inChannels: Int
    let outChannels: Int
    /// Output rows per band.
    var bandRows = 16

    init(weights: WeightProvider, outChannels: Int, inChannels: Int, context: Int8Context?) throws {
        let half = outChannels / 2
        first = try Conv2d(weights: weights, prefix: "image_encoder.patch_embed.seq.0", inChannels: inChannels,
                           outChannels: half, kernel: 3, stride: 2, padding: 1)
        let patch = 9 * inChannels
        var kn = [Float](repeating: 0, count: patch * half)
        for o in 0..<half { for k in 0..<patch { kn[k * half + o] = first.weight[o * patch + k] } }
        firstWeightKN = kn
        let prefix = "image_encoder.patch_embed.seq.2"
        if let context, TokenLinear.isStoredInt8(weights, prefix + ".weight") {
            second = .int8(try QuantizedConv2d(weights: weights, prefix: prefix, inChannels: half, outChannels: outChannels,
                                               kernel: 3, stride: 2, padding: 1, context: context))
        } else {
            second = .float32(try Conv2d(weights: weights, prefix: prefix, inChannels: half, outChannels: outChannels,
                                         kernel: 3, stride: 2, padding: 1))
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
    }

    /// Side after a 3×3 stride-2 pad-1 conv.
    static func half(_ side: Int) -> Int { (side - 1) / 2 + 1 }

    /// Rows of the input a stride-2 band of output rows `rows` is computed
    /// from, and how many leading output rows to drop.
    static func sourceRows(for rows: Range<Int>, inputHeight: Int) -> (Range<Int>, drop: Int) {
        let start = rows.lowerBound == 0 ? 0 : 2 * rows.lowerBound - 2
        return (start..<min(inputHeight, 2 * rows.upperBound), rows.lowerBound == 0 ? 0 : 1)
    }

    /// Output side for an `S × S` image.
    static func outputSize(_ size: Int) -> Int { half(half(size)) }

    /// The stem's output lines (rows or columns) that are all equal because
    /// they read only the input's zero lines `zeroFrom..<size` through both
    /// stride-2 convs.
    static func uniformLines(zeroFrom: Int, size: Int) -> UniformBand {
        let s1 = half(size), s2 = half(s1)
        // The input's zero lines extend into the convolution's zero padding;
        // the first conv's output (its bias through GELU) does not.
        return UniformBand(lower: zeroFrom, upper: size)
            .throughConv3x3(stride: 2, inputLength: size, outputLength: s1, paddingMatches: true)
            .throughConv3x3(stride: 2, inputLength: s1, outputLength: s2, paddingMatches: false)
    }

    /// Output rows `rows` (`[rows][S/4][outChannels]`) of the `size × size`
    /// input, written to `output` (the int8 conv computes only those rows,
    /// straight into the caller's held rows).
    func rows(_ rows: Range<Int>, of image: StemInput, size: Int, scratch: StripScratch,
              into output: UnsafeMutablePointer<Float>) throws {
        let s1 = Self.half(size), s2 = Self.half(s1)
        let (halfRows, dropOut) = Self.sourceRows(for: rows, inputHeight: s1)
        let (imageRows, dropHalf) = Self.sourceRows(for: halfRows, inputHeight: size)
        let count = imageRows.count * size * inChannels
        let slice = scratch.floats(.stemSlice, count)
        image.fill(rows: imageRows, size: size, channels: inChannels, into: slice)
        let firstRows = first.outputSize(imageRows.count)
        precondition(firstRows >= halfRows.count + dropHalf, "internal stem strip of the wrong size")
        let firstOut = scratch.floats(.stemHalf, firstRows * s1 * first.outChannels)
        firstConv(slice, height: imageRows.count, width: size, into: firstOut, scratch: scratch)
        let half = firstOut + dropHalf * s1 * first.outChannels, halfCount = halfRows.count * s1 * first.outChannels
        let rowSize = s2 * outChannels
        switch second {
        case let .float32(conv):
            let produced = conv(Array(UnsafeBufferPointer(start: half, count: halfCount)), height: halfRows.count, width: s1)
            precondition(produced.count == (rows.count + dropOut) * rowSize, "internal stem strip of the wrong size")
            produced.withUnsafeBufferPointer { output.update(from: $0.baseAddress! + dropOut * rowSize, count: rows.count * rowSize) }
        case let .int8(conv):
            precondition(conv.outputSize(halfRows.count) == rows.count + dropOut, "internal stem strip of the wrong size")
            try conv.forward(half, height: halfRows.count, width: s1, outputRows: dropOut..<(dropOut + rows.count),
                             into: output)
        }
    }

    /// The first conv (3×3, stride 2, pad 1, GELU) of `x` = `[height][width][inChannels]`
    /// into `output` = `[outH][outW][outChannels]`: im2col rows into scratch, then
    /// one f32 GEMM with the `[K][N]` weight.
    private func firstConv(_ x: UnsafePointer<Float>, height: Int, width: Int, into output: UnsafeMutablePointer<Float>,
                           scratch: StripScratch) {
        let cin = inChannels, oh = first.outputSize(height), ow = first.outputSize(width)
        let patch = 9 * cin, n = first.outChannels
        let columns = scratch.floats(.stemColumns, oh * ow * patch)
        Parallel.forEach(tasks: oh) { y, _ in
            for xo in 0..<ow {
                let row = columns + (y * ow + xo) * patch
                // The three taps of a kernel row are consecutive input pixels:
                // one run of up to 3·cin values between the padding taps.
                let x0 = 2 * xo - 1, lo = max(0, -x0), hi = min(3, width - x0)
                for ky in 0..<3 {
                    let iy = 2 * y + ky - 1, dst = row + ky * 3 * cin
                    if iy < 0 || iy >= height || lo >= hi {
                        for i in 0..<(3 * cin) { dst[i] = 0 }
                        continue
                    }
                    let src = x + (iy * width + x0 + lo) * cin
                    if cin == 3 && lo == 0 && hi == 3 {
                        // RGB away from the edges: 9 floats as one 8-wide copy and one more.
                        UnsafeMutableRawPointer(dst).storeBytes(
                            of: UnsafeRawPointer(src).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
                        dst[8] = src[8]
                        continue
                    }
                    for i in 0..<(lo * cin) { dst[i] = 0 }
                    for i in 0..<((hi - lo) * cin) { dst[lo * cin + i] = src[i] }
                    for i in (hi * cin)..<(3 * cin) { dst[i] = 0 }
                }
            }
        }
        firstWeightKN.withUnsafeBufferPointer { w in
            let run = { (bias: UnsafePointer<Float>?) in
                MatMul.f32(m: oh * ow, n: n, k: patch, a: columns, lda: patch, b: w.baseAddress!, ldb: n, layout: .kn,
                           c: output, ldc: n, bias: bias, activation: .gelu)
            }
            if let bias = first.bias { bias.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
        }
    }
}
