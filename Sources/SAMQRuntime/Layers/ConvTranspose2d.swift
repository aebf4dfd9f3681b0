/// `nn.ConvTranspose2d(kernel_size=2, stride=2)`: every input pixel expands to
/// its own 2×2 output block, so the layer is one GEMM plus a scatter.
///
/// The weight `[in][out][2][2]` is permuted at load to `[(dy, dx, out)][in]`
/// so the GEMM uses the `[n][k]` weight layout and each output pixel's
/// channels come out contiguous.
struct ConvTranspose2x2 {
    let weight: [Float]      // [4 * out][in]
    let bias: [Float]        // repeated for each of the 4 kernel positions
    let inChannels: Int
    let outChannels: Int

    init(weights: WeightProvider, prefix: String, inChannels: Int, outChannels: Int) throws {
        let raw = try weights.tensor(prefix + ".weight", shape: [inChannels, outChannels, 2, 2])
        var permuted = [Float](repeating: 0, count: raw.count)
        for c in 0..<inChannels {
            for o in 0..<outChannels {
                for q in 0..<4 {
                    permuted[(q * outChannels + o) * inChannels + c] = raw[(c * outChannels + o) * 4 + q]
                }
            }
        }
        weight = permuted
        let b = try weights.tensor(prefix + ".bias", shape: [outChannels])
        bias = b + b + b + b
        self.inChannels = inChannels
        self.outChannels = outChannels
    }

    /// `x` is channels-last `[height][width][in]`; returns `[2h][2w][out]`.
    func callAsFunction(_ x: [Float], height: Int, width: Int, activation: MatMul.Activation = .none) -> [Float] {
        let blocks = MatMul.linear(x, rows: height * width, inFeatures: inChannels, weight: weight,
                                   outFeatures: 4 * outChannels, bias: bias, activation: activation)
        var out = [Float](repeating: 0, count: blocks.count)
        let o = outChannels, ow = 2 * width
        blocks.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    for xi in 0..<width {
                        let block = src.baseAddress! + (y * width + xi) * 4 * o
                        for q in 0..<4 {
                            let oy = 2 * y + q / 2, ox = 2 * xi + q % 2
                            (dst.baseAddress! + (oy * ow + ox) * o).update(from: block + q * o, count: o)
                        }
                    }
                }
            }
        }
        return out
    }
}
