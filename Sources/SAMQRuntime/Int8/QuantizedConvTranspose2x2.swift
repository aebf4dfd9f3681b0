import SAMQFormat

/// `nn.ConvTranspose2d(kernel_size=2, stride=2)` in W8A8: every input pixel
/// expands to its own 2×2 output block, so the layer is one GEMM with
/// n = out·2·2 (`GemmView.convTranspose`, column index o·4 + dy·2 + dx) and a
/// scatter into channels-last `[2H][2W][out]`.
public struct QuantizedConvTranspose2x2: @unchecked Sendable {
    public let linear: QuantizedLinear
    public let outChannels: Int

    /// `bias` is per output channel (`[out]`); it is expanded to the GEMM's
    /// 4·out columns here.
    public init(weight: PackedInt8Matrix, bias: [Float]?, context: Int8Context) throws(Int8RuntimeError) {
        guard weight.n % 4 == 0 else {
            throw .invalidConfiguration("conv-transpose weight '\(weight.name)' has n = \(weight.n), not out·2·2")
        }
        let out = weight.n / 4
        if let bias, bias.count != out { throw .shapeMismatch(what: "conv-transpose bias", expected: out, actual: bias.count) }
        let expanded = bias.map { b in (0..<(4 * out)).map { b[$0 / 4] } }
        linear = try QuantizedLinear(weight: weight, bias: expanded, context: context)
        outChannels = out
    }

    /// Mirrors the f32 `ConvTranspose2x2` initializer.
    init(weights: WeightProvider, prefix: String, inChannels: Int, outChannels: Int, context: Int8Context) throws {
        let matrix = try PackedInt8Matrix(weights: weights, name: prefix + ".weight", view: .convTranspose,
                                          shape: [inChannels, outChannels, 2, 2])
        let bias = try weights.tensor(prefix + ".bias", shape: [outChannels])
        try self.init(weight: matrix, bias: bias, context: context)
    }

    public var inChannels: Int { linear.inFeatures }

    /// `x` is channels-last `[height][width][in]`; returns `[2h][2w][out]`.
    /// GELU/ReLU are per element, so fusing them before the scatter is exact.
    public func callAsFunction(_ x: [Float], height: Int, width: Int,
                               activation: FusedActivation = .none) throws(Int8RuntimeError) -> [Float] {
        guard height > 0, width > 0, x.count == height * width * inChannels else {
            throw .shapeMismatch(what: "conv-transpose input", expected: max(height, 0) * max(width, 0) * inChannels,
                                 actual: x.count)
        }
        let o = outChannels, n = 4 * o, pixels = height * width
        let staging = linear.context.workspace.staging.pointer(as: Float.self, count: pixels * n)
        try x.withUnsafeBufferPointer { (source) throws(Int8RuntimeError) in
            try linear.forward(rows: pixels, input: source.baseAddress!, ldx: inChannels, output: staging, ldo: n,
                               activation: activation)
        }
        let pool = linear.context.pool
        return try makeFloatArray(count: 4 * pixels * o) { (out) throws(Int8RuntimeError) in
            let ow = 2 * width
            pool.parallelFor(count: height) { y, _ in
                for xi in 0..<width {
                    let block = staging + (y * width + xi) * n
                    for q in 0..<4 {
                        let dst = out + ((2 * y + q / 2) * ow + 2 * xi + q % 2) * o
                        for c in 0..<o { dst[c] = block[c * 4 + q] }
                    }
                }
            }
        }
    }
}
