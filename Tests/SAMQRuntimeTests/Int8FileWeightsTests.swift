import Foundation
import XCTest
import SAMQConverter
import SAMQFormat
@testable import SAMQRuntime

/// Packed weights read from a converted `.samq` (borrowed from the map for the
/// raw codec, copied for zstd) drive the int8 layers exactly like weights
/// quantized at load from the same f32 values.
final class Int8FileWeightsTests: XCTestCase {
    private static func config() -> ModelConfig {
        .tinySAM(imgSize: 32, embedDim: 16, depth: 2, mlpDim: 32, windowSize: 2, globalAttnIndexes: [1])
    }

    private func convert(codec: TensorCodec) throws -> (path: String, random: RandomWeights) {
        var options = ConversionOptions()
        options.codec = codec
        let path = try RandomSAMFile.convert(config: Self.config(), seed: 5, options: options, name: "int8-\(codec)")
        return (path, RandomWeights(config: Self.config(), seed: 5))
    }

    func testPackedFileWeightsMatchLoadTimeQuantization() throws {
        let context = Int8Context(pool: ThreadPool(threads: 2))
        for codec in [TensorCodec.raw, .zstd] {
            let (path, random) = try convert(codec: codec)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let weights = try SAMQFileWeights(path: path)
            // (name, view, logical shape)
            let cases: [(String, GemmView, [Int])] = [
                ("image_encoder.blocks.0.mlp.lin1.weight", .linear, [32, 16]),
                ("image_encoder.neck.2.weight", .conv, [16, 16, 3, 3]),
                ("mask_decoder.output_upscaling.0.weight", .convTranspose, [16, 4, 2, 2]),
            ]
            for (name, view, shape) in cases {
                let fromFile = try PackedInt8Matrix(weights: weights, name: name, view: view, shape: shape)
                let (n, k) = view.dimensions(of: shape)!
                XCTAssertEqual(fromFile.n, n)
                XCTAssertEqual(fromFile.k, k)
                let f32 = PackedInt8Matrix.gemmOrder(try random.values(named: name), view: view, shape: shape)
                let atLoad = try PackedInt8Matrix(quantizing: f32, n: n, k: k, name: name)
                var differing = 0
                for c in 0..<n {
                    XCTAssertEqual(fromFile.scales[c], atLoad.scales[c], accuracy: 1e-6 * abs(atLoad.scales[c]), "\(name) scale \(c)")
                    for j in 0..<k where fromFile.quantizedValue(column: c, k: j) != atLoad.quantizedValue(column: c, k: j) {
                        differing += 1
                    }
                }
                // The converter's quantizer and samq_quantize_rows apply the
                // same rule; allow a rare tie rounded differently.
                XCTAssertLessThanOrEqual(differing, n * k / 1000, "\(name) (\(codec))")
                // And the layer built from the file computes the f32 product.
                let linear = try QuantizedLinear(weight: fromFile, bias: nil, context: context)
                var generator = Int8TestRandom(seed: 9)
                let x = generator.normal(5 * k)
                let expected = Int8Metrics.linearReference(x, rows: 5, k: k, weight: f32, n: n, bias: nil)
                XCTAssertGreaterThanOrEqual(Int8Metrics.cosine(try linear(x), expected), 0.999, "\(name) (\(codec))")
            }
            XCTAssertThrowsError(try PackedInt8Matrix(file: weights.file, name: "image_encoder.neck.1.weight"))
        }
    }

    func testRejectsInconsistentPayloads() throws {
        let bytes = [UInt8](repeating: 0, count: 100)
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> Void in
            XCTAssertThrowsError(try PackedInt8Matrix(copying: raw, n: 16, k: 8, name: "w"))   // needs 16·8 + 128 bytes
            XCTAssertThrowsError(try PackedInt8Matrix(copying: raw, n: 0, k: 8, name: "w"))
        }
    }
}
