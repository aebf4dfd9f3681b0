import SAMQFormat

extension PackedInt8Matrix {
    /// A GEMM weight from any `WeightProvider`: the packed payload itself when
    /// the provider stores it packed (a `PackedWeightSource`: a `.samq` file, a staged block) (no dequantize/requantize
    /// round trip), else the f32 tensor quantized at load (f32 `.samq` files,
    /// safetensors in tests).
    ///
    /// `shape` is the logical PyTorch shape the config implies; `view` says
    /// how it maps onto the GEMM (`GemmView`).
    convenience init(weights: WeightProvider, name: String, view: GemmView, shape: [Int]) throws {
        guard let (n, k) = view.dimensions(of: shape) else {
            throw Int8RuntimeError.invalidConfiguration("shape \(shape) is not a \(view) weight")
        }
        if let source = weights as? PackedWeightSource,
           let stored = try source.packedMatrix(named: name, view: view, shape: shape) {
            self.init(sharing: stored)
            return
        }
        let values = try weights.tensor(name, shape: shape)
        try self.init(quantizing: Self.gemmOrder(values, view: view, shape: shape), n: n, k: k, name: name)
    }

    /// Reorders a logical PyTorch tensor into GEMM `[n][k]` order. Linear and
    /// conv weights already are (k = in·kh·kw in PyTorch's flattening);
    /// conv-transpose `[in][out][kh][kw]` becomes `[(out, kh, kw)][in]`.
    static func gemmOrder(_ values: [Float], view: GemmView, shape: [Int]) -> [Float] {
        switch view {
        case .linear, .conv:
            return values
        case .convTranspose:
            let inputs = shape[0], columns = shape[1] * shape[2] * shape[3]
            return Tensor.transpose(values, rows: inputs, cols: columns)
        }
    }
}
