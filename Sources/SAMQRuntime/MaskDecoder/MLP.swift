/// `MLP` of mask_decoder.py: linears with ReLU between them (none after the last).
struct MLP {
    let layers: [Linear]

    init(weights: WeightProvider, prefix: String, inputDim: Int, hiddenDim: Int, outputDim: Int, layerCount: Int) throws {
        guard layerCount >= 1 else { throw SAMRuntimeError.invalidConfig("MLP '\(prefix)' needs at least one layer") }
        let widths = [inputDim] + Array(repeating: hiddenDim, count: layerCount - 1) + [outputDim]
        layers = try (0..<layerCount).map {
            try Linear(weights: weights, prefix: "\(prefix).layers.\($0)", inFeatures: widths[$0], outFeatures: widths[$0 + 1],
                       keepingHalfPrecision: true)
        }
    }

    func callAsFunction(_ x: [Float]) -> [Float] {
        var y = x
        for (i, layer) in layers.enumerated() {
            y = layer(y, activation: i < layers.count - 1 ? .relu : .none)
        }
        return y
    }
}
