import XCTest
import SAMQFormat
import SAMQImage
@testable import SAMQRuntime

/// The mask decoder caches prompt-independent image work per image: results
/// must not depend on what was decoded before, and a new image must not reuse
/// the old image's work.
final class DecoderCacheTests: XCTestCase {
    private func predictor() throws -> (SamPredictor, [Float], (original: ImageSize, input: ImageSize)) {
        guard let f = Fixtures.shared else { throw FixtureError("fixtures manifest not found") }
        guard let weights = try f.weights("tiny_a") else { throw FixtureError("tiny_a weights not found") }
        let files = f.entry("tiny_a")["files"] as? [String: Any] ?? [:]
        let embedding = try f.npy(files["embedding"] as? String ?? "").values
        return (try SamPredictor(weights: weights), embedding, f.sizes("tiny_a"))
    }

    func testCachedDecodeMatchesFreshDecoderAndFollowsNewImages() throws {
        let (warm, embedding, sizes) = try predictor()
        let (fresh, _, _) = try predictor()
        let other = embedding.map { $0 * 0.5 + 0.1 }
        let point = [(x: Float(sizes.original.width) / 3, y: Float(sizes.original.height) / 2)]

        try warm.setEmbedding(embedding, originalSize: sizes.original, inputSize: sizes.input)
        let first = try warm.predictLowResolution(points: point, labels: [1])
        let again = try warm.predictLowResolution(points: point, labels: [1])   // from the cache
        XCTAssertEqual(first.logits, again.logits)
        XCTAssertEqual(first.iouPredictions, again.iouPredictions)
        // A mask input changes the dense embedding: no stale reuse, and the no-mask cache still answers right.
        _ = try warm.predictLowResolution(points: point, labels: [1], maskInput: Array(first.logits.prefix(
            warm.config.lowResMaskSize * warm.config.lowResMaskSize)), multimask: false)
        XCTAssertEqual(try warm.predictLowResolution(points: point, labels: [1]).logits, first.logits)

        try warm.setEmbedding(other, originalSize: sizes.original, inputSize: sizes.input)
        try fresh.setEmbedding(other, originalSize: sizes.original, inputSize: sizes.input)
        let warmOther = try warm.predictLowResolution(points: point, labels: [1])
        let freshOther = try fresh.predictLowResolution(points: point, labels: [1])
        XCTAssertEqual(warmOther.logits, freshOther.logits)
        XCTAssertEqual(warmOther.iouPredictions, freshOther.iouPredictions)
        XCTAssertNotEqual(warmOther.logits, first.logits)
    }
}
