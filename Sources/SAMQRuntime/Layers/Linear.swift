/// `nn.Linear`: y = x·Wᵀ + b with W in PyTorch's `[out][in]` layout.
///
/// The weight is f32, or, for layers built with `keepingHalfPrecision` from a
/// file that stores it as f16 (the mask decoder of int8 files), the f16 bits
/// themselves: half the memory, widened exactly inside the GEMM kernel
/// (`SAMQ_SGEMM_B_F16`), so the products are those of the widened f32 matrix.
struct Linear {
    enum Storage {
        case f32([Float])
        case f16([UInt16])
    }

    let storage: Storage
    let bias: [Float]?
    let inFeatures: Int
    let outFeatures: Int

    init(weights: WeightProvider, prefix: String, inFeatures: Int, outFeatures: Int, bias hasBias: Bool = true,
         keepingHalfPrecision: Bool = false) throws {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let name = prefix + ".weight"
        if keepingHalfPrecision, let bits = try weights.halfPrecisionBits(name) {
            try weights.requireShape(name, [outFeatures, inFeatures])
            guard bits.count == outFeatures * inFeatures else {
                throw SAMRuntimeError.weightSizeMismatch(name: name, expectedCount: outFeatures * inFeatures,
                                                         actualCount: bits.count)
            }
            storage = .f16(bits)
        } else {
            storage = .f32(try weights.tensor(name, shape: [outFeatures, inFeatures]))
        }
        bias = hasBias ? try weights.tensor(prefix + ".bias", shape: [outFeatures]) : nil
    }

    /// The f32 matrix, for code that reads it directly (the folded
    /// cross-attentions, which never keep f16).
    var weight: [Float] {
        switch storage {
        case .f32(let values): return values
        case .f16: preconditionFailure("internal: an f16 Linear has no f32 matrix")
        }
    }

    /// `x` is `[rows][inFeatures]`; returns `[rows][outFeatures]`.
    func callAsFunction(_ x: [Float], activation: MatMul.Activation = .none) -> [Float] {
        switch storage {
        case .f32(let weight):
            return MatMul.linear(x, rows: x.count / inFeatures, inFeatures: inFeatures, weight: weight,
                                 outFeatures: outFeatures, bias: bias, activation: activation)
        case .f16(let weight):
            return MatMul.linear(x, rows: x.count / inFeatures, inFeatures: inFeatures, halfWeight: weight,
                                 outFeatures: outFeatures, bias: bias, activation: activation)
        }
    }

    /// Pointer-level product for the f32 matrix: `output[r] = act(input[r]·Wᵀ + b)`
    /// (or `+=` with `accumulate`), rows `ldx` / `ldo` apart. The f32 layers
    /// of the int8 encoders (TinyViT's and `--keep-f32` ViT linears) run here.
    func forward(rows: Int, input: UnsafePointer<Float>, ldx: Int, output: UnsafeMutablePointer<Float>, ldo: Int,
                 activation: MatMul.Activation = .none, accumulate: Bool = false) {
        guard rows > 0 else { return }
        weight.withUnsafeBufferPointer { w in
            withOptionalPointer(bias) { b in
                MatMul.f32(m: rows, n: outFeatures, k: inFeatures, a: input, lda: ldx, b: w.baseAddress!,
                           ldb: inFeatures, layout: .nk, c: output, ldc: ldo, bias: b, activation: activation,
                           accumulate: accumulate)
            }
        }
    }

    /// `residual += linear(x)`.
    func accumulate(_ x: [Float], into residual: inout [Float]) {
        switch storage {
        case .f32(let weight):
            MatMul.linearAccumulate(x, rows: x.count / inFeatures, inFeatures: inFeatures, weight: weight,
                                    outFeatures: outFeatures, bias: bias, into: &residual)
        case .f16(let weight):
            MatMul.linearAccumulate(x, rows: x.count / inFeatures, inFeatures: inFeatures, halfWeight: weight,
                                    outFeatures: outFeatures, bias: bias, into: &residual)
        }
    }
}
