#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The JSON metadata block: what model this is and where it came from.
public struct SAMQMetadata: Codable, Equatable, Sendable {
    public struct Provenance: Codable, Equatable, Sendable {
        /// File name of the source checkpoint, or `random:<variant>` for `--random`.
        public var source: String
        public var sourceFormat: String
        public var sourceSHA256: String?
        public var sourceBytes: Int?
        public var randomSeed: UInt64?
        public var converterVersion: String
        public var createdAt: String
        public init(source: String, sourceFormat: String, sourceSHA256: String? = nil, sourceBytes: Int? = nil,
                    randomSeed: UInt64? = nil, converterVersion: String, createdAt: String) {
            self.source = source; self.sourceFormat = sourceFormat; self.sourceSHA256 = sourceSHA256
            self.sourceBytes = sourceBytes; self.randomSeed = randomSeed
            self.converterVersion = converterVersion; self.createdAt = createdAt
        }
    }

    public struct Quantization: Codable, Equatable, Sendable {
        /// `f32` (reference) or `int8`.
        public var weights: String
        /// `symmetric-per-output-channel` for int8 files.
        public var weightScheme: String?
        /// How the runtime quantizes activations: `per-token-dynamic-symmetric`.
        public var activations: String?
        /// Packed layout identifier, `k4n16` (see docs/FORMAT.md).
        public var packedLayout: String?
        /// int8 files: how the mask decoder's transformer linears are stored
        /// (`f16`, `int8` or `f32`; absent in older files, which store int8).
        /// Informational: every dtype loads.
        public var decoderWeights: String?
        /// int8 files: `f32` keeps the decoder's output upscaling in f32;
        /// `int8` or absent runs it on the int8 kernels.
        public var decoderUpscaling: String?
        /// int8 files: `f32` runs the ViT encoder's attention products (Q·Kᵀ,
        /// P·V) in f32; `int8` or absent runs them on the int8 kernels.
        public var encoderAttention: String?
        public init(weights: String, weightScheme: String? = nil, activations: String? = nil, packedLayout: String? = nil,
                    decoderWeights: String? = nil, decoderUpscaling: String? = nil, encoderAttention: String? = nil) {
            self.weights = weights; self.weightScheme = weightScheme
            self.activations = activations; self.packedLayout = packedLayout
            self.decoderWeights = decoderWeights; self.decoderUpscaling = decoderUpscaling
            self.encoderAttention = encoderAttention
        }
    }

    public var format = "samq"
    public var formatVersion = Int(SAMQHeader.currentVersion)
    public var model: ModelConfig
    public var provenance: Provenance
    public var quantization: Quantization

    public init(model: ModelConfig, provenance: Provenance, quantization: Quantization) {
        self.model = model; self.provenance = provenance; self.quantization = quantization
    }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> SAMQMetadata {
        do {
            return try JSONDecoder().decode(SAMQMetadata.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw SAMQFormatError.metadata("invalid JSON: \(describe(error))")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case let .keyNotFound(key, context):
            return "missing key '\(key.stringValue)' at \(path(context))"
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            return "\(context.debugDescription) at \(path(context))"
        @unknown default:
            return "\(error)"
        }
    }
    static func path(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return path.isEmpty ? "top level" : path
    }
}
