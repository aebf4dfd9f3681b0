/// `nn.Conv2d` (square kernel, no dilation, no groups) as im2col + GEMM on
/// channels-last activations.
///
/// The weight is permuted once at load from `[out][in][kh][kw]` to
/// `[out][kh][kw][in]`, so an im2col row is a run of whole channel vectors.
struct Conv2d {
    let weight: [Float]          // [out][kh][kw][in]
    let bias: [Float]?
    let inChannels: Int
    let outChannels: Int
    let kernel: Int
    let stride: Int
    let padding: Int

    init(weights: WeightProvider, prefix: String, inChannels: Int, outChannels: Int, kernel: Int,
         stride: Int = 1, padding: Int = 0, bias hasBias: Bool = true) throws {
        let raw = try weights.tensor(prefix + ".weight", shape: [outChannels, inChannels, kernel, kernel])
        var permuted = [Float](repeating: 0, count: raw.count)
        for o in 0..<outChannels {
            for c in 0..<inChannels {
                for ky in 0..<kernel {
                    for kx in 0..<kernel {
                        permuted[((o * kernel + ky) * kernel + kx) * inChannels + c] =
                            raw[((o * inChannels + c) * kernel + ky) * kernel + kx]
                    }
                }
            }
        }
        weight = permuted
        bias = hasBias ? try weights.tensor(prefix + ".bias", shape: [outChannels]) : nil
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    func outputSize(_ input: Int) -> Int { (input + 2 * padding - kernel) / stride + 1 }

    /// `x` is channels-last `[height][width][inChannels]`; returns `[outH][outW][outChannels]`.
    func callAsFunction(_ x: [Float], height: Int, width: Int, activation: MatMul.Activation = .none) -> [Float] {
        precondition(x.count == height * width * inChannels, "internal conv input of the wrong size")
        let oh = outputSize(height), ow = outputSize(width)
        let patch = kernel * kernel * inChannels
        if kernel == 1 && stride == 1 && padding == 0 {
            return MatMul.linear(x, rows: height * width, inFeatures: inChannels, weight: weight,
                                 outFeatures: outChannels, bias: bias, activation: activation)
        }
        var columns = [Float](repeating: 0, count: oh * ow * patch)
        x.withUnsafeBufferPointer { src in
            columns.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                Parallel.forEach(tasks: oh) { y, _ in
                    for xo in 0..<ow {
                        var row = d + (y * ow + xo) * patch
                        for ky in 0..<kernel {
                            let iy = y * stride + ky - padding
                            for kx in 0..<kernel {
                                let ix = xo * stride + kx - padding
                                if iy >= 0 && iy < height && ix >= 0 && ix < width {
                                    row.update(from: s + (iy * width + ix) * inChannels, count: inChannels)
                                } // else: zero padding, already zero
                                row += inChannels
                            }
                        }
                    }
                }
            }
        }
        return MatMul.linear(columns, rows: oh * ow, inFeatures: patch, weight: weight,
                             outFeatures: outChannels, bias: bias, activation: activation)
    }
}
