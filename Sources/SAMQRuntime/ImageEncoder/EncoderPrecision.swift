import SAMQFormat

/// Which arithmetic the image encoder runs.
public enum EncoderPrecision: String, Sendable {
    /// The f32 reference path (matches the official implementation to ~1e-6).
    case float32 = "f32"
    /// W8A8 on the int8 kernels: per-channel int8 weights, per-token int8 activations.
    case int8
}

extension EncoderPrecision {
    /// int8 for files whose weights are stored int8, f32 otherwise; the
    /// environment variable `SAMQ_PRECISION=f32|int8` overrides (f32 on an
    /// int8 file runs the reference graph on the dequantized weights).
    public static func automatic(for weights: WeightProvider,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) throws -> EncoderPrecision {
        if let forced = environment["SAMQ_PRECISION"], !forced.isEmpty {
            guard let precision = EncoderPrecision(rawValue: forced.lowercased()) else {
                throw SAMRuntimeError.invalidConfig("SAMQ_PRECISION must be f32 or int8, not '\(forced)'")
            }
            return precision
        }
        guard let file = (weights as? SAMQFileWeights)?.file else { return .float32 }
        return file.metadata.quantization.weights == "int8" ? .int8 : .float32
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
