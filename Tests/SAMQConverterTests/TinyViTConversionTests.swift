import Foundation
import XCTest
@testable import SAMQConverter
import SAMQFormat

/// MobileSAM checkpoints: detection from official names and shapes,
/// BatchNorm folding, backward-compatible configs.
final class TinyViTConversionTests: XCTestCase {
    /// An official-format TinyViT state dict (Conv2d_BN pairs, classifier,
    /// counters) for a schema: every folded conv split back into `c` + `bn`.
    static func officialShapes(for config: ModelConfig) -> [String: [Int]] {
        var shapes: [String: [Int]] = [:]
        for tensor in SAMSchema(config: config).tensors {
            let name = tensor.name
            let isConv = name.hasPrefix("image_encoder.") && !name.hasPrefix("image_encoder.neck.")
                && tensor.shape.count == 4
            if isConv {
                let prefix = String(name.dropLast(".weight".count))
                shapes[prefix + ".c.weight"] = tensor.shape
                for stat in ["weight", "bias", "running_mean", "running_var"] { shapes[prefix + ".bn.\(stat)"] = [tensor.shape[0]] }
                shapes[prefix + ".bn.num_batches_tracked"] = []
            } else if name.hasPrefix("image_encoder.") && !name.hasPrefix("image_encoder.neck.") && name.hasSuffix(".bias")
                        && shapes[String(name.dropLast(".bias".count)) + ".c.weight"] != nil {
                continue   // a folded bias: the checkpoint has the BatchNorm instead
            } else {
                shapes[name] = tensor.shape
            }
        }
        let last = config.imageEncoder.embedDim
        shapes["image_encoder.norm_head.weight"] = [last]
        shapes["image_encoder.norm_head.bias"] = [last]
        shapes["image_encoder.head.weight"] = [1000, last]
        shapes["image_encoder.head.bias"] = [1000]
        return shapes
    }

    static func input(shapes: [String: [Int]], seed: UInt64 = 3) -> ConversionInput {
        let tensors = shapes.keys.sorted().map { SourceTensorInfo(name: $0, dtype: .f32, shape: shapes[$0]!) }
        return ConversionInput(tensors: tensors, provenance: .init(source: "test", sourceFormat: "test",
                                                                   converterVersion: "test", createdAt: "now")) { name in
            let count = shapes[name]!.reduce(1, *)
            var g = SplitMix64(seed: seed ^ XXHash64.hash(Array(name.utf8)))
            // Variances must be positive; everything else in [-1, 1).
            return (0..<count).map { _ in
                let u = g.nextUnitFloat()
                return name.hasSuffix("running_var") ? 0.5 + u : 2 * u - 1
            }
        }
    }

    func testDetectsOfficialVitTFromCheckpointNames() throws {
        let folded = try BatchNormFolding.fold(Self.input(shapes: Self.officialShapes(for: .mobileSAM)))
        XCTAssertFalse(folded.tensors.contains {
            $0.name.contains(".bn.") || $0.name.hasPrefix("image_encoder.head.") || $0.name.hasPrefix("image_encoder.norm_head.")
        })
        let config = try ConfigDetector.detect(shapes: folded.shapes)
        XCTAssertEqual(config, ModelConfig.mobileSAM)
        XCTAssertEqual(config.variant, "vit_t")
        XCTAssertNoThrow(try ConfigDetector.check(shapes: folded.shapes, against: SAMSchema(config: config)))
        // 256 px is not visible in the shapes: the caller says so.
        XCTAssertEqual(try ConfigDetector.detect(shapes: folded.shapes, imageSize: 512).imageEncoder.gridSize, 32)
    }

    func testFoldingMatchesConv2dBNFuse() throws {
        let source = Self.input(shapes: Self.officialShapes(for: .mobileSAM))
        let folded = try BatchNormFolding.fold(source)
        let prefix = "image_encoder.layers.0.blocks.0.conv2"
        let w = try source.read(prefix + ".c.weight"), gamma = try source.read(prefix + ".bn.weight")
        let beta = try source.read(prefix + ".bn.bias"), mean = try source.read(prefix + ".bn.running_mean")
        let variance = try source.read(prefix + ".bn.running_var")
        let weight = try folded.read(prefix + ".weight"), bias = try folded.read(prefix + ".bias")
        for c in gamma.indices {
            let scale = Double(gamma[c]) / (Double(variance[c]) + 1e-5).squareRoot()
            for t in 0..<9 { XCTAssertEqual(Double(weight[c * 9 + t]), Double(w[c * 9 + t]) * scale, accuracy: 1e-6) }
            XCTAssertEqual(Double(bias[c]), Double(beta[c]) - Double(mean[c]) * scale, accuracy: 1e-6)
        }
    }

    func testNegativeVarianceAndMissingStatisticsAreNamed() throws {
        var shapes = Self.officialShapes(for: .mobileSAM)
        shapes["image_encoder.layers.1.blocks.0.local_conv.bn.running_mean"] = nil
        XCTAssertThrowsError(try BatchNormFolding.fold(Self.input(shapes: shapes))) {
            XCTAssertEqual($0 as? ConverterError, .missingTensor("image_encoder.layers.1.blocks.0.local_conv.bn.running_mean"))
        }
        let good = Self.input(shapes: Self.officialShapes(for: .mobileSAM))
        let broken = ConversionInput(tensors: good.tensors, provenance: good.provenance) { name in
            var v = try good.read(name)
            if name == "image_encoder.patch_embed.seq.2.bn.running_var" { v[5] = -1 }
            return v
        }
        let folded = try BatchNormFolding.fold(broken)
        XCTAssertThrowsError(try folded.read("image_encoder.patch_embed.seq.2.weight")) {
            XCTAssertEqual($0 as? ConverterError, .negativeVariance(name: "image_encoder.patch_embed.seq.2.bn.running_var", index: 5))
        }
    }

    func testConfigsWithoutTinyViTFieldsStillDecode() throws {
        let vit = try JSONEncoder().encode(ModelConfig.official("vit_b")!)
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: vit) as? [String: Any])
        var encoder = try XCTUnwrap(json["imageEncoder"] as? [String: Any])
        XCTAssertNil(encoder["tinyViT"])          // older files have no such key
        encoder.removeValue(forKey: "tinyViT")
        json["imageEncoder"] = encoder
        let decoded = try JSONDecoder().decode(ModelConfig.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertEqual(decoded, ModelConfig.official("vit_b"))
        let t = try JSONDecoder().decode(ModelConfig.self, from: JSONEncoder().encode(ModelConfig.mobileSAM))
        XCTAssertEqual(t, ModelConfig.mobileSAM)
        XCTAssertNoThrow(try SAMSchema.validate(t))
        var bad = ModelConfig.mobileSAM
        bad.imageEncoder.tinyViT?.mergeStrides = [2, 2, 2]
        XCTAssertThrowsError(try SAMSchema.validate(bad))
    }

    func testRandomVitTConvertsWithDepthwiseAndBiasesInF32() throws {
        let random = RandomWeights(config: .mobileSAM, seed: 1)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vit_t-\(getpid()).samq").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var converter = Converter(options: ConversionOptions())
        converter.configOverride = .mobileSAM
        let report = try converter.convert(random.input(converterVersion: "test"), to: path)
        let file = try SAMQFile(path: path)
        XCTAssertEqual(file.config, ModelConfig.mobileSAM)
        for entry in report.tensors {
            if entry.name.hasSuffix("conv2.weight") || entry.name.hasSuffix("local_conv.weight")
                || entry.name.hasSuffix("attention_biases") || entry.name.hasPrefix("image_encoder.patch_embed.seq.0.") {
                XCTAssertEqual(entry.dtype, .f32, entry.name)
            }
            if entry.name.hasSuffix("qkv.weight") || entry.name.hasSuffix("conv1.weight") {
                XCTAssertEqual(entry.dtype, .i8, entry.name)
            }
        }
    }
}
