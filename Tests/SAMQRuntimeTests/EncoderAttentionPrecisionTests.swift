import Foundation
import XCTest
import SAMQConverter
import SAMQFormat
@testable import SAMQRuntime

/// `samq-convert --encoder-attention f32` is recorded in the file and switches
/// the int8 encoder's attention products to f32, resident and streamed alike.
final class EncoderAttentionPrecisionTests: XCTestCase {
    private static func config() -> ModelConfig {
        .tinySAM(imgSize: 64, embedDim: 32, depth: 2, mlpDim: 64, windowSize: 3, globalAttnIndexes: [1])
    }

    private func convert(_ attention: ConversionOptions.EncoderAttention, keepFloat32: [String] = []) throws -> String {
        var options = ConversionOptions()
        options.encoderAttention = attention
        options.keepFloat32 = keepFloat32
        return try RandomSAMFile.convert(config: Self.config(), seed: 21, options: options,
                                         name: "attention-\(attention)-\(keepFloat32.count)")
    }

    func testFloat32AttentionIsRecordedAndUsed() throws {
        let int8Path = try convert(.int8), f32Path = try convert(.f32)
        defer { [int8Path, f32Path].forEach { try? FileManager.default.removeItem(atPath: $0) } }
        var generator = Int8TestRandom(seed: 3)
        let input = generator.normal(3 * 64 * 64)

        let int8Weights = try SAMQFileWeights(path: int8Path), f32Weights = try SAMQFileWeights(path: f32Path)
        XCTAssertEqual(f32Weights.file.metadata.quantization.encoderAttention, "f32")
        let reference = try ImageEncoderViT(weights: f32Weights, precision: .float32).encode(input)
        let int8Encoder = try ImageEncoderViT(weights: int8Weights)
        let f32Encoder = try ImageEncoderViT(weights: f32Weights)
        XCTAssertEqual(int8Encoder.attentionPrecision, .int8)
        XCTAssertEqual(f32Encoder.attentionPrecision, .f32)
        let withInt8Attention = try int8Encoder.encode(input)
        let withF32Attention = try f32Encoder.encode(input)
        // Same weights, other attention arithmetic: the outputs differ, and
        // both stay W8A8-close to the f32 path.
        XCTAssertNotEqual(withInt8Attention, withF32Attention)
        XCTAssertGreaterThanOrEqual(Int8Metrics.cosine(withF32Attention, reference), 0.999)
        XCTAssertGreaterThanOrEqual(Int8Metrics.cosine(withInt8Attention, reference), 0.999)
        // Streaming builds its blocks from the same recorded choice.
        let streamed = try ImageEncoderViT(weights: f32Weights, residency: .streamed).encode(input)
        XCTAssertEqual(streamed, withF32Attention)
    }

    /// `--keep-f32` on the ViT blocks' linears runs them in f32: with f32
    /// attention too, the int8 path's block is then the f32 block, to f32
    /// rounding, windowed and global alike (and streaming agrees).
    func testKeptFloat32LinearsRunInFloat32() throws {
        let keptPath = try convert(.f32, keepFloat32: ["image_encoder.blocks."])
        defer { try? FileManager.default.removeItem(atPath: keptPath) }
        let kept = try SAMQFileWeights(path: keptPath)
        XCTAssertTrue(kept.keepsFloat32("image_encoder.blocks.0.mlp.lin1.weight"))
        XCTAssertFalse(kept.keepsFloat32("image_encoder.neck.0.weight"))
        let config = Self.config(), grid = config.imageEncoder.gridSize, dim = config.imageEncoder.embedDim
        let context = Int8Context(pool: ThreadPool(threads: 2))
        var generator = Int8TestRandom(seed: 4)
        for index in 0..<config.imageEncoder.depth {
            let tokens = generator.normal(grid * grid * dim)
            var viaInt8Path = tokens, viaFloatBlock = tokens
            try Int8ViTBlock(weights: kept, index: index, config: config, context: context, attention: .f32)
                .apply(&viaInt8Path, grid: grid)
            try ViTBlock(weights: kept, index: index, config: config).apply(&viaFloatBlock, grid: grid)
            XCTAssertLessThanOrEqual(Int8Metrics.relativeError(viaInt8Path, reference: viaFloatBlock), 1e-5,
                                     "block \(index)")
        }
        var generatorImage = Int8TestRandom(seed: 5)
        let input = generatorImage.normal(3 * 64 * 64)
        XCTAssertEqual(try ImageEncoderViT(weights: kept, residency: .streamed).encode(input),
                       try ImageEncoderViT(weights: kept).encode(input))
    }
}
