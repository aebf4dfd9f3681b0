import SAMQFormat

/// A linear layer or 1×1 convolution over channels-last rows, in f32 or in
/// W8A8: TinyViT's pointwise convs (`GemmView.conv`, `[out, in, 1, 1]`) and
/// its linears (`GemmView.linear`) run through this one type.
enum TokenLinear {
    case float32(Linear)
    case int8(QuantizedLinear)

    /// `view` is how the converter stored the weight (`.conv` for 1×1 convs).
    /// On the int8 path a layer the file keeps in f32 (the converter's
    /// precision plan) runs in f32.
    init(weights: WeightProvider, prefix: String, inputs: Int, outputs: Int, view: GemmView,
         context: Int8Context?) throws {
        if let context, Self.isStoredInt8(weights, prefix + ".weight") {
            let shape = view == .conv ? [outputs, inputs, 1, 1] : [outputs, inputs]
            let matrix = try PackedInt8Matrix(weights: weights, name: prefix + ".weight", view: view, shape: shape)
            let bias = try weights.tensor(prefix + ".bias", shape: [outputs])
            self = .int8(try QuantizedLinear(weight: matrix, bias: bias, context: context))
        } else {
            // Linear's loader accepts the [out, in, 1, 1] spelling of a 1×1 conv.
            self = .float32(try Linear(weights: weights, prefix: prefix, inFeatures: inputs, outFeatures: outputs))
        }
    }

    /// True unless the provider is a `.samq` file storing the weight unpacked.
    static func isStoredInt8(_ weights: WeightProvider, _ name: String) -> Bool {
        guard let file = (weights as? SAMQFileWeights)?.file, let entry = try? file.entry(named: name) else { return true }
        return entry.layout == .packedInt8
    }

    var inputs: Int {
        switch self {
        case let .float32(l): return l.inFeatures
        case let .int8(l): return l.inFeatures
        }
    }

    var outputs: Int {
        switch self {
        case let .float32(l): return l.outFeatures
        case let .int8(l): return l.outFeatures
        }
    }

    /// `output[r] = act(input[r]·Wᵀ + b)` (or `+=` with `accumulate`, no
    /// activation) for `rows` rows, densely packed on both sides.
    func forward(rows: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                 gelu: Bool = false, accumulate: Bool = false) throws {
        guard rows > 0 else { return }
        switch self {
        case let .float32(l):
            l.forward(rows: rows, input: input, ldx: l.inFeatures, output: output, ldo: l.outFeatures,
                      activation: gelu ? .gelu : .none, accumulate: accumulate)
        case let .int8(l):
            try l.forward(rows: rows, input: input, ldx: l.inFeatures, output: output, ldo: l.outFeatures,
                          activation: gelu ? .gelu : .none, accumulate: accumulate)
        }
    }

    /// `output[r] = input[r]·Wᵀ + b + residual[r]`: `residual` is read, not
    /// copied (int8: the GEMM epilogue adds it; f32: copied into `output`,
    /// then accumulated, which gives the same bits).
    func forward(rows: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                 residual: UnsafePointer<Float>) throws {
        guard rows > 0 else { return }
        switch self {
        case let .float32(l):
            output.update(from: residual, count: rows * l.outFeatures)
            l.forward(rows: rows, input: input, ldx: l.inFeatures, output: output, ldo: l.outFeatures,
                      activation: .none, accumulate: true)
        case let .int8(l):
            try l.forward(rows: rows, input: input, ldx: l.inFeatures, output: output, ldo: l.outFeatures,
                          residual: residual, ldr: l.outFeatures)
        }
    }

    /// Array form of `forward`.
    func callAsFunction(_ x: [Float], gelu: Bool = false) throws -> [Float] {
        let rows = x.count / inputs
        precondition(rows * inputs == x.count, "internal TokenLinear input of the wrong size")
        var out = [Float](repeating: 0, count: rows * outputs)
        try x.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                try forward(rows: rows, input: src.baseAddress!, output: dst.baseAddress!, gelu: gelu)
            }
        }
        return out
    }
}
