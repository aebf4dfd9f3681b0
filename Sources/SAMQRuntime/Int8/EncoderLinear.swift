import SAMQFormat

/// A linear of the int8 ViT block: W8A8 on the int8 kernels, or f32 when an
/// int8 file keeps the weight f32 (`samq-convert --keep-f32 NAME_PART`), so a
/// user can move one layer group back to f32 and measure what it was costing
/// (`samq eval`). Same pointer-level contract either way.
enum EncoderLinear {
    case int8(QuantizedLinear)
    case float32(Linear)

    init(weights: WeightProvider, prefix: String, inFeatures: Int, outFeatures: Int, bias: Bool = true,
         context: Int8Context) throws {
        if let source = weights as? PackedWeightSource, source.keepsFloat32(prefix + ".weight") {
            self = .float32(try Linear(weights: weights, prefix: prefix, inFeatures: inFeatures,
                                       outFeatures: outFeatures, bias: bias))
        } else {
            self = .int8(try QuantizedLinear(weights: weights, prefix: prefix, inFeatures: inFeatures,
                                             outFeatures: outFeatures, bias: bias, context: context))
        }
    }

    var outFeatures: Int {
        switch self {
        case let .int8(layer): return layer.outFeatures
        case let .float32(layer): return layer.outFeatures
        }
    }

    /// `QuantizedLinear.forward`'s contract: rows `ldx` / `ldo` apart,
    /// `+=` with `accumulate`, `output` not overlapping `input`.
    func forward(rows: Int, input: UnsafePointer<Float>, ldx: Int, output: UnsafeMutablePointer<Float>, ldo: Int,
                 activation: FusedActivation = .none, accumulate: Bool = false) throws(Int8RuntimeError) {
        switch self {
        case let .int8(layer):
            try layer.forward(rows: rows, input: input, ldx: ldx, output: output, ldo: ldo, activation: activation,
                              accumulate: accumulate)
        case let .float32(layer):
            guard rows > 0 else { return }
            guard ldx >= layer.inFeatures, ldo >= layer.outFeatures else {
                throw .invalidConfiguration("leading dimensions \(ldx), \(ldo) are smaller than \(layer.inFeatures), \(layer.outFeatures)")
            }
            guard !(accumulate && activation != .none) else {
                throw .invalidConfiguration("an activation before the residual add is not supported")
            }
            layer.forward(rows: rows, input: input, ldx: ldx, output: output, ldo: ldo,
                          activation: Self.float32Activation(activation), accumulate: accumulate)
        }
    }

    private static func float32Activation(_ activation: FusedActivation) -> MatMul.Activation {
        switch activation {
        case .none: return .none
        case .gelu: return .gelu
        case .relu: return .relu
        }
    }
}
