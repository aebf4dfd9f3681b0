import Foundation
import XCTest
import SAMQConverter
import SAMQFormat
@testable import SAMQRuntime

/// Serves seeded random weights of a config by official name (no file).
final class Int8RandomWeightProvider: WeightProvider {
    let config: ModelConfig
    let random: RandomWeights
    private let shapes: [String: [Int]]

    init(config: ModelConfig, seed: UInt64) {
        self.config = config
        random = RandomWeights(config: config, seed: seed)
        shapes = Dictionary(uniqueKeysWithValues: random.schema.tensors.map { ($0.name, $0.shape) })
    }

    func floats(_ name: String) throws -> [Float] { try random.values(named: name) }
    func shape(_ name: String) -> [Int]? { shapes[name] }
}

/// The int8 ViT block against the f32 block on the same weights.
final class Int8ViTBlockTests: XCTestCase {
    private func config(embed: Int, heads: Int, grid: Int, window: Int) -> ModelConfig {
        .tinySAM(imgSize: grid * 16, patchSize: 16, embedDim: embed, depth: 2, numHeads: heads, mlpDim: 4 * embed,
                 windowSize: window, globalAttnIndexes: [1])
    }

    func testBlocksMatchFloatBlocks() throws {
        let config = config(embed: 32, heads: 2, grid: 9, window: 4)   // 9 = 2 windows + padding
        let weights = Int8RandomWeightProvider(config: config, seed: 3)
        let context = Int8Context(pool: ThreadPool(threads: 2))
        var random = Int8TestRandom(seed: 4)
        let x = random.normal(9 * 9 * 32)
        for index in 0..<2 {   // 0: windowed with padding, 1: global
            let f32 = try ViTBlock(weights: weights, index: index, config: config)
            let int8 = try Int8ViTBlock(weights: weights, index: index, config: config, context: context)
            var expected = x, actual = x
            f32.apply(&expected, grid: 9)
            try int8.apply(&actual, grid: 9)
            let deltaExpected = zip(expected, x).map { $0 - $1 }, deltaActual = zip(actual, x).map { $0 - $1 }
            XCTAssertGreaterThanOrEqual(Int8Metrics.cosine(deltaActual, deltaExpected), 0.999, "block \(index)")
        }
    }

    /// vit_b block timings → encoder estimate. Opt-in like the other benchmarks.
    func testVitBBlockBenchmark() throws {
        guard ProcessInfo.processInfo.environment["SAMQ_INT8_BENCH"] == "1" else {
            throw XCTSkip("set SAMQ_INT8_BENCH=1 to run the int8 benchmarks")
        }
        let threads = Int(ProcessInfo.processInfo.environment["SAMQ_INT8_BENCH_THREADS"] ?? "") ?? 2
        guard let config = ModelConfig.official("vit_b") else { return XCTFail("no vit_b config") }
        let weights = Int8RandomWeightProvider(config: config, seed: 1)
        let context = Int8Context(pool: ThreadPool(threads: threads))
        let grid = config.imageEncoder.gridSize, dim = config.imageEncoder.embedDim
        var random = Int8TestRandom(seed: 5)
        let x0 = random.normal(grid * grid * dim)
        var perKind: [String: Double] = [:]
        for (kind, index) in [("windowed", 0), ("global", 2)] {
            let block = try Int8ViTBlock(weights: weights, index: index, config: config, context: context)
            var best = Double.infinity
            for _ in 0..<3 {
                var x = x0
                var start = timespec(), end = timespec()
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start)
                try block.apply(&x, grid: grid)
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &end)
                let cpu = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
                best = min(best, cpu / Double(threads))
            }
            perKind[kind] = best
            print(String(format: "[int8-bench] vit_b %@ block: %.1f ms (CPU time / %d threads)", kind, best * 1e3, threads))
        }
        let global = config.imageEncoder.globalAttnIndexes.count, depth = config.imageEncoder.depth
        let estimate = Double(global) * perKind["global"]! + Double(depth - global) * perKind["windowed"]!
        print(String(format: "[int8-bench] vit_b 12 blocks estimate: %.3f s (%d global + %d windowed)", estimate, global,
                     depth - global))
    }
}
