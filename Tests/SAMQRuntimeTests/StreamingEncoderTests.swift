import Foundation
import XCTest
import SAMQConverter
import SAMQFormat
@testable import SAMQRuntime

/// The streaming encoder (blocks staged one ahead into two arena slots,
/// checksummed on decode) against the resident one, on converted files.
final class StreamingEncoderTests: XCTestCase {
    /// Windowed blocks with padding (grid 6, window 4) and a global block.
    private static func config() -> ModelConfig {
        .tinySAM(imgSize: 48, embedDim: 32, depth: 3, mlpDim: 64, windowSize: 4, globalAttnIndexes: [1])
    }

    private func convert(codec: TensorCodec, weights: ConversionOptions.WeightType = .int8) throws -> String {
        var options = ConversionOptions()
        options.codec = codec
        options.weights = weights
        return try RandomSAMFile.convert(config: Self.config(), seed: 11, options: options, name: "stream-\(codec)-\(weights)")
    }

    private func input() -> [Float] {
        var random = Int8TestRandom(seed: 12)
        return random.normal(3 * 48 * 48)
    }

    private func encode(_ path: String, _ residency: ImageEncoderViT.WeightResidency, threads: Int,
                        precision: EncoderPrecision? = nil) throws -> [Float] {
        let encoder = try ImageEncoderViT(weights: try SAMQFileWeights(path: path), residency: residency,
                                          precision: precision,
                                          int8Context: Int8Context(pool: ThreadPool(threads: threads)))
        return try encoder.encode(input())
    }

    func testStreamedMatchesResidentBitForBitAtAnyThreadCount() throws {
        for codec in [TensorCodec.zstd, .raw] {
            let path = try convert(codec: codec)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let reference = try encode(path, .resident, threads: 1)
            XCTAssertEqual(reference.count, 16 * 6 * 6)
            XCTAssertTrue(reference.allSatisfy(\.isFinite))
            for threads in [1, 2, 3] {
                XCTAssertEqual(try encode(path, .streamed, threads: threads), reference, "\(codec) streamed, \(threads) threads")
                XCTAssertEqual(try encode(path, .resident, threads: threads), reference, "\(codec) resident, \(threads) threads")
            }
            // A second encode reuses the workspace and re-streams the blocks.
            let encoder = try ImageEncoderViT(weights: try SAMQFileWeights(path: path), residency: .streamed)
            XCTAssertEqual(try encoder.encode(input()), try encoder.encode(input()))
            XCTAssertNotNil(encoder.lastEncodeStatistics)
        }
    }

    /// The f32 reference path streams too (f32 files, and int8 files dequantized).
    func testFloatPathStreams() throws {
        let f32 = try convert(codec: .zstd, weights: .f32)
        let int8 = try convert(codec: .zstd)
        defer { for path in [f32, int8] { try? FileManager.default.removeItem(atPath: path) } }
        XCTAssertEqual(try encode(f32, .streamed, threads: 2), try encode(f32, .resident, threads: 2))
        XCTAssertEqual(try encode(int8, .streamed, threads: 2, precision: .float32),
                       try encode(int8, .resident, threads: 2, precision: .float32))
    }

    /// A corrupt block tensor stops the streamed encode with an error that
    /// names it; it never yields an embedding. The encoder is built fine
    /// (streaming reads no tensor data up front).
    func testCorruptBlockTensorIsNamed() throws {
        for codec in [TensorCodec.zstd, .raw] {
            let path = try convert(codec: codec)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let victim = "image_encoder.blocks.2.mlp.lin1.weight"
            let entry = try SAMQFile(path: path).entry(named: victim)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes[entry.offset + entry.storedSize / 2] ^= 0x5A
            try bytes.write(to: URL(fileURLWithPath: path))
            let encoder = try ImageEncoderViT(weights: try SAMQFileWeights(path: path), residency: .streamed)
            XCTAssertThrowsError(try encoder.encode(input()), "\(codec)") { error in
                XCTAssertTrue("\(error)".contains(victim), "\(codec): \(error)")
            }
        }
    }

    func testStreamedEncoderReadsNothingAtInit() throws {
        let path = try convert(codec: .zstd)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Corrupt every encoder tensor: building the streamed encoder still
        // succeeds (only the table is read), building it resident does not.
        let file = try SAMQFile(path: path)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for entry in file.entries where entry.name.hasPrefix("image_encoder.") {
            bytes[entry.offset + entry.storedSize / 2] ^= 0x5A
        }
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertNoThrow(try ImageEncoderViT(weights: try SAMQFileWeights(path: path), residency: .streamed))
        XCTAssertThrowsError(try ImageEncoderViT(weights: try SAMQFileWeights(path: path), residency: .resident))
    }

    func testMemoryEstimateOrdersTheModes() throws {
        let path = try convert(codec: .zstd)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let estimate = EncoderMemoryEstimate(file: try SAMQFile(path: path), precision: .int8, threads: 2)
        XCTAssertLessThan(estimate.streamed, estimate.resident)
        XCTAssertGreaterThan(estimate.activationBytes, 4 * 36 * 32)   // at least the residual stream
        // vit_h: the documented formula's figures (docs/MEMORY.md).
        guard let h = ModelConfig.official("vit_h") else { return XCTFail("no vit_h config") }
        let activations = EncoderMemoryEstimate.int8Activations(h.imageEncoder, threads: 2)
        XCTAssertLessThan(activations, 130_000_000)
        XCTAssertGreaterThan(activations, 100_000_000)
    }

    func testTinyViTEstimateIsItsOwn() throws {
        // vit_t's `samq encode` peaks at ~45 MB in all (docs/MEMORY.md). The ViT
        // formula, read on TinyViT's flat fields, assumed a global attention
        // over the 64×64 grid and refused budgets the model fits in.
        let config = ModelConfig.mobileSAM
        guard let tiny = config.imageEncoder.tinyViT else { return XCTFail("no TinyViT fields") }
        let activations = EncoderMemoryEstimate.tinyViTActivations(config.imageEncoder, tiny, threads: 2)
        // Two stage maps (a merge's 128²×128 input and 64²×160 output: 11 MB) + strips.
        XCTAssertGreaterThan(activations, 11_000_000)
        XCTAssertLessThan(activations, 20_000_000)
        XCTAssertLessThan(activations, EncoderMemoryEstimate.int8Activations(config.imageEncoder, threads: 2))
        XCTAssertLessThan(EncoderMemoryEstimate.tinyViTActivations(config.imageEncoder, tiny, threads: 1), activations)
    }
}
