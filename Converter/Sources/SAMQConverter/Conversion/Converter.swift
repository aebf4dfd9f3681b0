import Foundation
import SAMQFormat

/// Turns a checkpoint (or random weights) into a `.samq` file, one tensor at
/// a time: read → check → quantize/encode → compress → append. Peak memory is
/// about two copies of the largest tensor, whatever the model size.
public struct Converter {
    public static let version = "0.1.0"

    public struct TensorReport: Sendable {
        public var name: String
        public var shape: [Int]
        public var dtype: StoredDType
        public var storedBytes: Int
        /// Only for int8 tensors.
        public var sqnr: Double?
    }

    public struct Report: Sendable {
        public var config: ModelConfig
        public var tensors: [TensorReport] = []
        public var inputBytes: Int?
        public var outputBytes = 0
        public var seconds = 0.0
        public var worst: TensorReport? {
            tensors.filter { $0.sqnr != nil }.min { $0.sqnr! < $1.sqnr! }
        }
    }

    public var options: ConversionOptions
    public var decoderHeads = 8
    /// Overrides shape-based detection (exotic checkpoints).
    public var configOverride: ModelConfig?
    /// Input side for TinyViT (MobileSAM) checkpoints, whose shapes do not show it.
    public var tinyViTImageSize = 1024

    public init(options: ConversionOptions) { self.options = options }

    /// Converts `input` to `outputPath`. `progress(done, total, name)` is
    /// called after each tensor.
    public func convert(_ input: ConversionInput, to outputPath: String,
                        progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> Report {
        let start = Date()
        // MobileSAM: Conv2d_BN pairs become plain convolutions before anything else sees them.
        let input = BatchNormFolding.applies(to: input) ? try BatchNormFolding.fold(input) : input
        let shapes = input.shapes
        let config = try configOverride ?? ConfigDetector.detect(shapes: shapes, decoderHeads: decoderHeads,
                                                                 imageSize: tinyViTImageSize)
        try Self.validate(config)
        let schema = SAMSchema(config: config)
        try ConfigDetector.check(shapes: shapes, against: schema)

        let quantization: SAMQMetadata.Quantization = options.weights == .int8
            ? .init(weights: "int8", weightScheme: "symmetric-per-output-channel",
                    activations: "per-token-dynamic-symmetric", packedLayout: "k4n16",
                    decoderWeights: options.decoderWeights.rawValue, decoderUpscaling: (options.decoderUpscaling
                        ?? ConversionOptions.defaultDecoderUpscaling(for: config)).rawValue,
                    encoderAttention: options.encoderAttention.rawValue)
            : .init(weights: "f32")
        let metadata = SAMQMetadata(model: config, provenance: input.provenance, quantization: quantization)
        let plan = ConversionPlan.entries(for: schema, options: options)
        let writer = try SAMQWriter(path: outputPath, metadata: metadata, plan: plan,
                                    compressionLevel: options.compressionLevel)
        var report = Report(config: config)
        report.inputBytes = input.provenance.sourceBytes
        do {
            for (index, planned) in plan.enumerated() {
                let values = try input.read(planned.name)
                guard values.count == planned.elementCount else {
                    throw ConverterError.shapeMismatch(name: planned.name, expected: planned.shape, found: [values.count])
                }
                if let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw ConverterError.nonFiniteWeights(name: planned.name, index: bad)
                }
                var sqnr: Double? = nil
                let entry: TensorEntry
                switch (planned.layout, planned.dtype) {
                case (.packedInt8, _):
                    let result = try WeightQuantizer.quantize(values, shape: planned.shape, view: planned.gemmView ?? .linear,
                                                              name: planned.name)
                    sqnr = result.sqnr
                    entry = try result.payload.withUnsafeBytes { try writer.append(name: planned.name, raw: $0) }
                case (_, .f16):
                    let halves = values.map { HalfPrecision.bits(from: $0).littleEndian }
                    entry = try halves.withUnsafeBytes { try writer.append(name: planned.name, raw: $0) }
                default:
                    entry = try writer.append(name: planned.name, floats: values)
                }
                report.tensors.append(TensorReport(name: entry.name, shape: entry.shape, dtype: entry.dtype,
                                                   storedBytes: entry.storedSize, sqnr: sqnr))
                progress(index + 1, plan.count, planned.name)
            }
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
        report.outputBytes = (try? FileManager.default.attributesOfItem(atPath: outputPath)[.size] as? Int) ?? 0
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// The schema's check as a converter error: a caller's config that fails it is a config
    /// error, not the corrupt `.samq` metadata a reader reports for the same fault.
    public static func validate(_ config: ModelConfig) throws(ConverterError) {
        do { try SAMSchema.validate(config) } catch let SAMQFormatError.invalidModelConfig(fault) {
            throw .invalidConfig(fault)
        } catch {
            throw .invalidConfig("\(error)")
        }
    }
}
