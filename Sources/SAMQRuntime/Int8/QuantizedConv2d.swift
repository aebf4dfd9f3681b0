import SAMQFormat

/// `nn.Conv2d` (square kernel, no dilation, no groups) in W8A8 as im2col +
/// `QuantizedLinear`, on channels-last activations `[H][W][Cin]` → `[OH][OW][Cout]`.
///
/// The packed weight keeps PyTorch's flattening (`GemmView.conv`: k = cin·kh·kw,
/// index c·kh·kw + ky·kw + kx), so im2col rows are written in that order.
/// A 1×1 stride-1 conv (the neck's first conv) is the linear itself; larger
/// kernels gather `chunkRows` output pixels at a time so the im2col buffer
/// stays small whatever the image (a full 64×64×2304 one would be 38 MB).
/// 128 rows of the neck's 3×3 conv are 1.2 MB of f32 columns plus their
/// int8 copy; 512 were 6 MB, the peak of a vit_t `samq encode`, and no faster.
public struct QuantizedConv2d: @unchecked Sendable {
    public let linear: QuantizedLinear
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    /// Output pixels per im2col chunk.
    public var chunkRows = 128

    public init(weight: PackedInt8Matrix, bias: [Float]?, inChannels: Int, kernel: Int, stride: Int = 1,
                padding: Int = 0, context: Int8Context) throws(Int8RuntimeError) {
        guard kernel > 0, stride > 0, padding >= 0, inChannels > 0, weight.k == inChannels * kernel * kernel else {
            throw .invalidConfiguration("conv weight '\(weight.name)' has k = \(weight.k), expected \(inChannels)·\(kernel)·\(kernel)")
        }
        linear = try QuantizedLinear(weight: weight, bias: bias, context: context)
        self.inChannels = inChannels
        outChannels = weight.n
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    /// Mirrors the f32 `Conv2d` initializer.
    init(weights: WeightProvider, prefix: String, inChannels: Int, outChannels: Int, kernel: Int,
         stride: Int = 1, padding: Int = 0, bias hasBias: Bool = true, context: Int8Context) throws {
        let matrix = try PackedInt8Matrix(weights: weights, name: prefix + ".weight", view: .conv,
                                          shape: [outChannels, inChannels, kernel, kernel])
        let bias = hasBias ? try weights.tensor(prefix + ".bias", shape: [outChannels]) : nil
        try self.init(weight: matrix, bias: bias, inChannels: inChannels, kernel: kernel, stride: stride,
                      padding: padding, context: context)
    }

    public func outputSize(_ input: Int) -> Int { (input + 2 * padding - kernel) / stride + 1 }

    /// `x` is channels-last `[height][width][inChannels]`; returns `[outH][outW][outChannels]`.
    public func callAsFunction(_ x: [Float], height: Int, width: Int,
                               activation: FusedActivation = .none) throws(Int8RuntimeError) -> [Float] {
        guard height > 0, width > 0, x.count == height * width * inChannels else {
            throw .shapeMismatch(what: "conv input", expected: max(height, 0) * max(width, 0) * inChannels, actual: x.count)
        }
        if kernel == 1 && stride == 1 && padding == 0 {
            guard outputSize(height) > 0, outputSize(width) > 0 else {
                throw .invalidConfiguration("conv output of \(height)×\(width) is empty")
            }
            return try linear(x, activation: activation)
        }
        return try x.withUnsafeBufferPointer { (source) throws(Int8RuntimeError) in
            try forward(source.baseAddress!, height: height, width: width, activation: activation)
        }
    }

    /// The same from `x`, pointing at `height · width · inChannels` values (a
    /// caller's strip buffer, not copied into an array first).
    public func forward(_ x: UnsafePointer<Float>, height: Int, width: Int,
                        activation: FusedActivation = .none) throws(Int8RuntimeError) -> [Float] {
        let oh = outputSize(height), ow = outputSize(width)
        guard height > 0, width > 0, oh > 0, ow > 0 else {
            throw .invalidConfiguration("conv output of \(height)×\(width) is empty")
        }
        if kernel == 1 && stride == 1 && padding == 0 {
            return try makeFloatArray(count: oh * ow * outChannels) { (out) throws(Int8RuntimeError) in
                try linear.forward(rows: oh * ow, input: x, ldx: inChannels, output: out, ldo: outChannels,
                                   activation: activation)
            }
        }
        let (cin, k, s, p) = (inChannels, kernel, stride, padding)
        // Padding taps read from a row of zeros, so the gather has no branch per value.
        let zeros = [Float](repeating: 0, count: cin)
        return try zeros.withUnsafeBufferPointer { (zero) throws(Int8RuntimeError) in
            let src = x, pad = zero.baseAddress!
            return try linear.forwardGathered(rows: oh * ow, chunkRows: chunkRows, activation: activation) { pixel, row in
                let oy = pixel / ow, ox = pixel % ow
                // The k² source pixels, then the row in (c, ky, kx) order —
                // channel c lands at c·k² + ky·k + kx — written sequentially
                // (a scatter with stride k² was the slow part of this gather).
                withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: k * k) { taps in
                    for ky in 0..<k {
                        let iy = oy * s + ky - p
                        for kx in 0..<k {
                            let ix = ox * s + kx - p
                            let inside = iy >= 0 && iy < height && ix >= 0 && ix < width
                            taps[ky * k + kx] = inside ? src + (iy * width + ix) * cin : pad
                        }
                    }
                    var dst = row
                    for c in 0..<cin {
                        for t in 0..<(k * k) { dst[t] = taps[t][c] }
                        dst += k * k
                    }
                }
            }
        }
    }
}
