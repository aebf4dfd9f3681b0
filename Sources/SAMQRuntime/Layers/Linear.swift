/// `nn.Linear`: y = x·Wᵀ + b with W in PyTorch's `[out][in]` layout.
struct Linear {
    let weight: [Float]
    let bias: [Float]?
    let inFeatures: Int
    let outFeatures: Int

    init(weights: WeightProvider, prefix: String, inFeatures: Int, outFeatures: Int, bias hasBias: Bool = true) throws {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = try weights.tensor(prefix + ".weight", shape: [outFeatures, inFeatures])
        bias = hasBias ? try weights.tensor(prefix + ".bias", shape: [outFeatures]) : nil
    }

    /// `x` is `[rows][inFeatures]`; returns `[rows][outFeatures]`.
    func callAsFunction(_ x: [Float], activation: MatMul.Activation = .none) -> [Float] {
        MatMul.linear(x, rows: x.count / inFeatures, inFeatures: inFeatures, weight: weight,
                      outFeatures: outFeatures, bias: bias, activation: activation)
    }

    /// `residual += linear(x)`.
    func accumulate(_ x: [Float], into residual: inout [Float]) {
        MatMul.linearAccumulate(x, rows: x.count / inFeatures, inFeatures: inFeatures, weight: weight,
                                outFeatures: outFeatures, bias: bias, into: &residual)
    }
}
