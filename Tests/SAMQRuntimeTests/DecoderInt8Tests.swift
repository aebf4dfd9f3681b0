import XCTest
import SAMQFormat
import SAMQImage
@testable import SAMQRuntime

/// The mask decoder's int8 path (W8A8 cross-attention products and output
/// upscaling) against its f32 reference path on the same weights, and its
/// per-decode scratch under concurrent decodes.
final class DecoderInt8Tests: XCTestCase {
    private struct Setup {
        let predictor: SamPredictor
        let image: [Float]
        let side: Int
    }

    /// tiny_c has the official decoder shapes (256 wide, MLP 2048) but its
    /// weights live outside the repository (`make_fixtures.py --big-dir`);
    /// tiny_a's are committed, so a fresh checkout still runs these tests.
    private func fixture() throws -> (name: String, weights: CheckpointWeights) {
        guard let f = Fixtures.shared else { throw FixtureError("fixtures manifest not found") }
        for name in ["tiny_c", "tiny_a"] {
            if let weights = try f.weights(name) { return (name, weights) }
        }
        throw FixtureError("neither tiny_c nor tiny_a weights found")
    }

    private func setup() throws -> Setup {
        guard let f = Fixtures.shared else { throw FixtureError("fixtures manifest not found") }
        let (name, weights) = try fixture()
        let files = f.entry(name)["files"] as? [String: Any] ?? [:]
        let embedding = try f.npy(files["embedding"] as? String ?? "").values
        let predictor = try SamPredictor(weights: weights)
        let side = predictor.config.embeddingSize
        return Setup(predictor: predictor, image: Tensor.transpose(embedding, rows: predictor.config.imageEncoder.outChans,
                                                                   cols: side * side), side: side)
    }

    private func decode(_ decoder: MaskDecoder, _ s: Setup, point: (Float, Float),
                        multimask: Bool = true) throws -> (masks: [Float], iou: [Float], count: Int) {
        let p = s.predictor.promptEncoder
        return try decoder.predict(image: s.image, imagePE: p.densePositionalEncoding,
                                   sparse: p.sparseEmbeddings(points: [PromptPoint(x: point.0, y: point.1, label: 1)], box: nil),
                                   dense: p.denseEmbeddings(mask: nil), side: s.side, multimask: multimask)
    }

    /// Relative L2 distance of `masks` from `reference`, and the share of
    /// logits on the same side of 0.
    private static func agreement(_ masks: [Float], _ reference: [Float]) -> (relative: Double, signs: Double) {
        var error = 0.0, norm = 0.0, agree = 0
        for (x, y) in zip(masks, reference) {
            error += Double(x - y) * Double(x - y)
            norm += Double(y) * Double(y)
            if (x > 0) == (y > 0) { agree += 1 }
        }
        return ((error / max(norm, 1e-30)).squareRoot(), Double(agree) / Double(reference.count))
    }

    /// Same weights, int8 against f32: logits close, mask signs agree.
    func testInt8DecoderTracksTheFloat32Decoder() throws {
        let s = try setup()
        let weights = try fixture().weights
        let int8 = try MaskDecoder(weights: weights, precision: .int8)
        let f32 = try MaskDecoder(weights: weights, precision: .float32)
        XCTAssertNotNil(int8.int8?.upscaling)
        XCTAssertNil(f32.int8)
        let size = Float(s.predictor.config.imageEncoder.imgSize)
        for (point, multimask) in [((0.3 * size, 0.4 * size), true), ((0.7 * size, 0.2 * size), false)] {
            let a = try decode(int8, s, point: point, multimask: multimask)
            let b = try decode(f32, s, point: point, multimask: multimask)
            XCTAssertEqual(a.count, b.count)
            XCTAssertEqual(a.masks.count, b.masks.count)
            let (relative, agreement) = Self.agreement(a.masks, b.masks)
            print("[decoder int8] relative L2 \(relative), sign agreement \(agreement)")
            XCTAssertLessThan(relative, 0.05)
            XCTAssertGreaterThan(agreement, 0.98)
            for (x, y) in zip(a.iou, b.iou) { XCTAssertEqual(x, y, accuracy: 0.02) }
        }
    }

    /// A decode that reuses the cached image work builds `image + dense`
    /// inside the first block (deferred keys); it must give the bits of the
    /// decode that built it up front (the cache miss), with the broadcast
    /// no-mask embedding and with a mask input's grid.
    /// With bf16 attention products the no-mask case takes `image + dense`
    /// as the product's summed residual: still the same bits.
    func testDeferredKeysGiveTheBitsOfUpFrontKeys() throws {
        let s = try setup()
        let weights = try fixture().weights
        let p = s.predictor.promptEncoder
        let size = Float(s.predictor.config.imageEncoder.imgSize)
        let sparse = p.sparseEmbeddings(points: [PromptPoint(x: 0.4 * size, y: 0.6 * size, label: 1)], box: nil)
        let lowRes = s.predictor.config.lowResMaskSize
        let maskInput = (0..<(lowRes * lowRes)).map { Float($0 % 7 - 3) }
        let cases = [p.denseEmbeddings(mask: nil), p.denseEmbeddings(mask: maskInput)].flatMap { dense in
            [AttentionProductPrecision.f32, .bf16].map { (dense, $0) }
        }
        for (dense, products) in cases {
            let decoder = try MaskDecoder(weights: weights, precision: .int8, attentionProducts: products)
            func decode() throws -> (masks: [Float], iou: [Float], count: Int) {
                try decoder.predict(image: s.image, imagePE: p.densePositionalEncoding, sparse: sparse, dense: dense,
                                    side: s.side, multimask: true)
            }
            let miss = try decode(), hit = try decode()
            XCTAssertEqual(hit.masks, miss.masks, "\(products)")
            XCTAssertEqual(hit.iou, miss.iou, "\(products)")
        }
    }

    /// bf16 attention products (the default where the CPU has AVX512_BF16;
    /// forced here, so other CPUs run the scalar emulation) stay within the
    /// int8 path's own distance from f32 (0.012–0.014 relative L2 on these
    /// random weights; bf16 against f32 products measured 0.008–0.009).
    func testBF16AttentionProductsTrackFloat32Products() throws {
        let s = try setup()
        let weights = try fixture().weights
        let bf16 = try MaskDecoder(weights: weights, precision: .int8, attentionProducts: .bf16)
        let f32 = try MaskDecoder(weights: weights, precision: .int8, attentionProducts: .f32)
        XCTAssertEqual(bf16.int8?.attentionProducts, .bf16)
        XCTAssertEqual(f32.int8?.attentionProducts, .f32)
        let size = Float(s.predictor.config.imageEncoder.imgSize)
        for point in [(0.3 * size, 0.4 * size), (0.7 * size, 0.2 * size), (0.5 * size, 0.5 * size)] {
            let a = try decode(bf16, s, point: point), b = try decode(f32, s, point: point)
            let (relative, agreement) = Self.agreement(a.masks, b.masks)
            print("[decoder bf16 products] relative L2 \(relative), sign agreement \(agreement)")
            XCTAssertGreaterThan(relative, 0, "bf16 products should not be the f32 ones")
            XCTAssertLessThan(relative, 0.02)
            XCTAssertGreaterThan(agreement, 0.995)
            for (x, y) in zip(a.iou, b.iou) { XCTAssertEqual(x, y, accuracy: 0.005) }
        }
    }

    /// Concurrent decodes (as the automatic mask generator runs them) each get
    /// their own scratch: results equal one-at-a-time decodes bit for bit.
    func testConcurrentInt8DecodesMatchSequentialOnes() throws {
        let s = try setup()
        let weights = try fixture().weights
        let decoder = try MaskDecoder(weights: weights, precision: .int8)
        let size = Float(s.predictor.config.imageEncoder.imgSize)
        let points = (0..<6).map { (Float($0 + 1) * size / 8, Float(6 - $0) * size / 8) }
        let sequential = try points.map { try decode(decoder, s, point: $0).masks }
        let slots = ResultSlots<[Float]>(count: points.count)
        let previous = ComputeThreads.count
        ComputeThreads.count = 3
        defer { ComputeThreads.count = previous }
        Parallel.forEach(tasks: points.count) { i, _ in slots[i] = try? self.decode(decoder, s, point: points[i]).masks }
        for i in points.indices { XCTAssertEqual(slots[i], sequential[i], "point \(i)") }
    }
}
