import Foundation
import XCTest
@testable import SAMQConverter
import SAMQFormat

private func tinyConfig() -> ModelConfig {
    var config = ModelConfig(
        variant: "custom",
        imageEncoder: .init(imgSize: 48, patchSize: 8, embedDim: 24, depth: 3, numHeads: 2, mlpDim: 40,
                            outChans: 16, windowSize: 4, globalAttnIndexes: [2]),
        promptEncoder: .init(embedDim: 16, maskInChans: 8),
        maskDecoder: .init(transformerDim: 16, transformerMlpDim: 24, iouHeadHiddenDim: 20))
    config.maskDecoder.numHeads = 2
    return config
}

private func scratchPath(_ name: String) -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("samq-converter-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent(name).path
}

final class ConversionTests: XCTestCase {
    func convert(_ config: ModelConfig, weights: ConversionOptions.WeightType, codec: TensorCodec = .zstd,
                 name: String, decoderWeights: ConversionOptions.DecoderWeights = .f16) throws -> (String, RandomWeights, Converter.Report) {
        let random = RandomWeights(config: config, seed: 7)
        var options = ConversionOptions()
        options.weights = weights
        options.codec = codec
        options.decoderWeights = decoderWeights
        let path = scratchPath(name)
        let report = try Converter(options: options).convert(random.input(converterVersion: "test"), to: path)
        return (path, random, report)
    }

    /// The detector recovers the config from shapes alone (decoder heads aside).
    func testDetectsConfigFromShapes() throws {
        let config = tinyConfig()
        let shapes = Dictionary(uniqueKeysWithValues: SAMSchema(config: config).tensors.map { ($0.name, $0.shape) })
        XCTAssertEqual(try ConfigDetector.detect(shapes: shapes, decoderHeads: 2), config)
        for name in ["vit_b", "vit_l", "vit_h"] {
            let official = try XCTUnwrap(ModelConfig.official(name))
            let officialShapes = Dictionary(uniqueKeysWithValues: SAMSchema(config: official).tensors.map { ($0.name, $0.shape) })
            XCTAssertEqual(try ConfigDetector.detect(shapes: officialShapes), official, name)
        }
    }

    /// A head count that does not divide the decoder's widths names the option.
    func testDecoderHeadsThatDoNotDivideTheWidthAreRefusedByName() throws {
        let official = try XCTUnwrap(ModelConfig.official("vit_b"))
        let shapes = Dictionary(uniqueKeysWithValues: SAMSchema(config: official).tensors.map { ($0.name, $0.shape) })
        XCTAssertThrowsError(try ConfigDetector.detect(shapes: shapes, decoderHeads: 7)) { error in
            XCTAssertTrue("\(error)".contains("--decoder-heads 7 does not divide"), "\(error)")
        }
        XCTAssertEqual(try ConfigDetector.detect(shapes: shapes, decoderHeads: 16).maskDecoder.numHeads, 16)
    }

    /// A caller's config that no SAM can have is a config error, not "corrupt .samq
    /// metadata", and nothing is written.
    func testInvalidConfigOverrideIsAConfigErrorAndWritesNothing() throws {
        var config = tinyConfig()
        config.maskDecoder.numHeads = 3
        var converter = Converter(options: ConversionOptions())
        converter.configOverride = config
        let path = scratchPath("invalid-config.samq")
        let input = RandomWeights(config: tinyConfig(), seed: 1).input(converterVersion: "test")
        XCTAssertThrowsError(try converter.convert(input, to: path)) { error in
            XCTAssertEqual(error as? ConverterError, .invalidConfig("decoder heads 3 do not divide the attention width"))
            XCTAssertEqual("\(error)", "invalid model config: decoder heads 3 do not divide the attention width")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testMissingExtraAndMisshapenTensorsAreNamed() throws {
        let schema = SAMSchema(config: tinyConfig())
        var shapes = Dictionary(uniqueKeysWithValues: schema.tensors.map { ($0.name, $0.shape) })
        shapes["image_encoder.blocks.1.mlp.lin2.bias"] = nil
        XCTAssertThrowsError(try ConfigDetector.check(shapes: shapes, against: schema)) {
            XCTAssertEqual($0 as? ConverterError, .missingTensor("image_encoder.blocks.1.mlp.lin2.bias"))
        }
        shapes["image_encoder.blocks.1.mlp.lin2.bias"] = [25]
        XCTAssertThrowsError(try ConfigDetector.check(shapes: shapes, against: schema)) {
            XCTAssertEqual($0 as? ConverterError, .shapeMismatch(name: "image_encoder.blocks.1.mlp.lin2.bias", expected: [24], found: [25]))
        }
        shapes["image_encoder.blocks.1.mlp.lin2.bias"] = [24]
        shapes["image_encoder.extra"] = [3]
        XCTAssertThrowsError(try ConfigDetector.check(shapes: shapes, against: schema)) {
            XCTAssertEqual($0 as? ConverterError, .unexpectedTensors(["image_encoder.extra"]))
        }
    }

    /// f32 files give back the source tensors bit for bit.
    func testF32RoundTripIsBitExact() throws {
        for codec in [TensorCodec.raw, .zstd] {
            let (path, random, _) = try convert(tinyConfig(), weights: .f32, codec: codec, name: "f32-\(codec).samq")
            let file = try SAMQFile(path: path)
            XCTAssertEqual(file.metadata.quantization.weights, "f32")
            for tensor in random.schema.tensors {
                XCTAssertEqual(try file.floats(tensor.name), try random.values(named: tensor.name), tensor.name)
            }
        }
    }

    /// int8 files dequantize to exactly what an independent per-channel
    /// quantization of the source gives, and carry correct column sums.
    func testInt8MatchesIndependentQuantization() throws {
        try checkInt8MatchesIndependentQuantization(decoderWeights: .int8)
    }

    /// The default int8 file stores the decoder transformer's linears as f16
    /// (everything else as in `--decoder-weights int8`), and says so.
    func testDecoderTransformerWeightsAreF16ByDefault() throws {
        try checkInt8MatchesIndependentQuantization(decoderWeights: .f16)
    }

    private func checkInt8MatchesIndependentQuantization(decoderWeights: ConversionOptions.DecoderWeights) throws {
        let (path, random, report) = try convert(tinyConfig(), weights: .int8, name: "int8-\(decoderWeights).samq",
                                                 decoderWeights: decoderWeights)
        let file = try SAMQFile(path: path)
        XCTAssertEqual(file.metadata.quantization.decoderWeights, decoderWeights.rawValue)
        var packedCount = 0, halfCount = 0
        for tensor in random.schema.tensors {
            let source = try random.values(named: tensor.name)
            let entry = try file.entry(named: tensor.name)
            let decoded = try file.floats(tensor.name)
            let decoderHalf = decoderWeights == .f16 && tensor.gemmView != nil
                && ConversionPlan.isDecoderTransformerLinear(tensor.name)
            if decoderHalf {
                XCTAssertEqual(entry.dtype, .f16, tensor.name)
                halfCount += 1
            }
            guard let view = tensor.gemmView, !ConversionPlan.keepsFloat32(tensor.name), !decoderHalf else {
                if entry.dtype == .f16 {
                    XCTAssertEqual(decoded, source.map { HalfPrecision.float(fromBits: HalfPrecision.bits(from: $0)) })
                } else {
                    XCTAssertEqual(decoded, source, tensor.name)
                }
                continue
            }
            packedCount += 1
            XCTAssertEqual(entry.layout, .packedInt8)
            let (n, k) = try XCTUnwrap(view.dimensions(of: tensor.shape))
            var expected = [Float](repeating: 0, count: source.count)
            var expectedSums = [Int32](repeating: 0, count: n)
            for column in 0..<n {
                let indices = (0..<k).map { GemmIndexing.logicalIndex(view: view, shape: tensor.shape, n: column, k: $0) }
                let amax = indices.map { abs(source[$0]) }.max() ?? 0
                let scale = amax / 127
                for index in indices {
                    let q = max(-127, min(127, (source[index] * (127 / amax)).rounded(.toNearestOrEven)))
                    expected[index] = q * scale
                    expectedSums[column] += Int32(q)
                }
            }
            XCTAssertEqual(decoded, expected, tensor.name)
            let raw = try file.rawBytes(of: tensor.name)
            let layout = PackedInt8Layout(n: n, k: k)
            let sums = raw.withUnsafeBytes { bytes in
                (0..<n).map { bytes.loadUnaligned(fromByteOffset: layout.columnSumsOffset + 4 * $0, as: Int32.self) }
            }
            XCTAssertEqual(sums, expectedSums, tensor.name)
            // Padding columns and k beyond the tensor are zero.
            for column in n..<layout.paddedN { XCTAssertEqual(raw[layout.offset(column: column, k: 0)], 0) }
            for kIndex in k..<layout.paddedK { XCTAssertEqual(raw[layout.offset(column: 0, k: kIndex)], 0) }
        }
        XCTAssertGreaterThan(packedCount, decoderWeights == .int8 ? 20 : 10)
        XCTAssertEqual(halfCount > 0, decoderWeights == .f16)
        let worst = try XCTUnwrap(report.worst?.sqnr)
        XCTAssertGreaterThan(worst, 30, "uniform weights quantize to ~38 dB")
    }

    func testZeroChannelsGetZeroScaleAndNaNIsRefused() throws {
        var values = [Float](repeating: 0, count: 3 * 5)
        values[5...9] = [1, -2, 3, -4, 5]
        let result = try WeightQuantizer.quantize(values, shape: [3, 5], view: .linear, name: "w")
        let layout = PackedInt8Layout(n: 3, k: 5)
        let scales = result.payload.withUnsafeBytes { b in (0..<3).map { b.loadUnaligned(fromByteOffset: layout.scalesOffset + 4 * $0, as: Float.self) } }
        XCTAssertEqual(scales, [0, 5.0 / 127, 0])
        values[7] = .nan
        XCTAssertThrowsError(try WeightQuantizer.quantize(values, shape: [3, 5], view: .linear, name: "w")) {
            XCTAssertEqual($0 as? ConverterError, .nonFiniteWeights(name: "w", index: 7))
        }
    }

    func testConvTransposeIsPackedWithOutputChannelsAsColumns() throws {
        // [in=3, out=2, 2, 2]: n = out·kh·kw = 8, k = in = 3.
        let values = (0..<24).map { Float($0) - 11.5 }
        let result = try WeightQuantizer.quantize(values, shape: [3, 2, 2, 2], view: .convTranspose, name: "up")
        let entry = TensorEntry(name: "up", dtype: .i8, layout: .packedInt8, codec: .raw, shape: [3, 2, 2, 2], gemmView: .convTranspose)
        let decoded = try result.payload.withUnsafeBytes { try TensorDecoding.floats(entry: entry, raw: $0) }
        for (a, b) in zip(decoded, values) { XCTAssertEqual(a, b, accuracy: abs(b) / 100 + 0.05) }
    }

    func testFailedConversionLeavesNoFileBehind() throws {
        let config = tinyConfig()
        let random = RandomWeights(config: config, seed: 1)
        var input = random.input(converterVersion: "test")
        let failing = "image_encoder.blocks.2.mlp.lin1.weight"
        input.read = { name in
            var values = try random.values(named: name)
            if name == failing { values[3] = .infinity }
            return values
        }
        let path = scratchPath("failed.samq")
        try Data("previous".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Converter(options: ConversionOptions()).convert(input, to: path)) {
            XCTAssertEqual($0 as? ConverterError, .nonFiniteWeights(name: failing, index: 3))
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "previous", "an existing output is never half-overwritten")
        let siblings = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        XCTAssertFalse(siblings.contains { $0.contains("failed.samq.tmp") })
    }
}
