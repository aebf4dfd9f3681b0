import Foundation
import XCTest
import SAMQFormat
@testable import SAMQRuntime

/// The dense positional encoding is computed row by row on the compute
/// threads; every cell must hold exactly what `encode` gives that cell alone,
/// whatever the thread count, on grids with non-power-of-two sides too.
final class PositionEmbeddingTests: XCTestCase {
    func testDenseGridEqualsPerCellEncodingOnAnyThreadCount() throws {
        let config = ModelConfig.tinySAM(imgSize: 32, embedDim: 16, depth: 1, mlpDim: 32, windowSize: 2,
                                         globalAttnIndexes: [0])
        let weights = Int8RandomWeightProvider(config: config, seed: 21)
        let features = 8
        let embedding = try PositionEmbeddingRandom(weights: weights, prefix: "prompt_encoder.pe_layer", features: features)
        let saved = ComputeThreads.count
        defer { ComputeThreads.count = saved }
        for (h, w) in [(1, 1), (5, 7), (64, 64), (13, 3)] {
            var expected = [Float](repeating: 0, count: h * w * 2 * features)
            expected.withUnsafeMutableBufferPointer { out in
                for y in 0..<h {
                    for x in 0..<w {
                        embedding.encode(x: (Float(x) + 0.5) / Float(w), y: (Float(y) + 0.5) / Float(h),
                                         into: out.baseAddress! + (y * w + x) * 2 * features)
                    }
                }
            }
            for threads in [1, 2, 3] {
                ComputeThreads.count = threads
                XCTAssertEqual(embedding.dense(height: h, width: w).map(\.bitPattern), expected.map(\.bitPattern),
                               "\(h)×\(w) on \(threads) threads")
            }
        }
    }
}
