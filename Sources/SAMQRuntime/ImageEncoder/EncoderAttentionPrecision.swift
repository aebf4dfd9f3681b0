import SAMQFormat

/// Precision of the int8 ViT encoder's attention products (Q·Kᵀ and P·V),
/// chosen per model at conversion time (`samq-convert --encoder-attention`)
/// and recorded in the file's quantization metadata.
public enum EncoderAttentionPrecision: String, Sendable {
    /// int8 products with per-token Q/K, per-channel V and 255-level P scales.
    case int8
    /// f32 products and softmax: slower, for checkpoints whose attention
    /// loses too much in int8 (docs/ACCURACY.md has the measured trade).
    case f32

    /// What `weights`' file asks for; int8 for files that predate the choice
    /// and for providers that are not `.samq` files.
    static func recorded(in weights: WeightProvider) throws -> EncoderAttentionPrecision {
        guard let value = (weights as? SAMQFileWeights)?.file.metadata.quantization.encoderAttention else { return .int8 }
        guard let precision = EncoderAttentionPrecision(rawValue: value) else {
            throw SAMRuntimeError.invalidConfig("encoder attention precision '\(value)' is neither int8 nor f32")
        }
        return precision
    }
}
