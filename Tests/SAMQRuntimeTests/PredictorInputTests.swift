import XCTest
import SAMQFormat
import SAMQImage
@testable import SAMQRuntime

/// Bad inputs and misuse give typed errors, never traps.
final class PredictorInputTests: XCTestCase {
    private func tinyPredictor() throws -> (SamPredictor, Fixtures, String) {
        guard let f = Fixtures.shared else { throw FixtureError("fixtures manifest not found") }
        let name = "tiny_a"
        guard let weights = try f.weights(name) else { throw FixtureError("tiny_a weights not found") }
        return (try SamPredictor(weights: weights), f, name)
    }

    private func withEmbedding() throws -> SamPredictor {
        let (predictor, f, name) = try tinyPredictor()
        let files = f.entry(name)["files"] as? [String: Any] ?? [:]
        let embedding = try f.npy(files["embedding"] as? String ?? "")
        let sizes = f.sizes(name)
        try predictor.setEmbedding(embedding.values, originalSize: sizes.original, inputSize: sizes.input)
        return predictor
    }

    private func assertError(_ expected: SAMRuntimeError, file: StaticString = #filePath, line: UInt = #line,
                             _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? SAMRuntimeError, expected, file: file, line: line)
            XCTAssertFalse("\(error)".isEmpty)
        }
    }

    func testPredictBeforeSetImage() throws {
        let (predictor, _, _) = try tinyPredictor()
        assertError(.imageNotSet) { _ = try predictor.predict(points: [(10, 10)], labels: [1]) }
        assertError(.imageNotSet) { _ = try predictor.imageEmbedding() }
    }

    func testMissingPrompt() throws {
        let predictor = try withEmbedding()
        assertError(.noPrompt) { _ = try predictor.predict() }
    }

    func testBadPoints() throws {
        let predictor = try withEmbedding()  // original image 168 × 124
        XCTAssertThrowsError(try predictor.predict(points: [(.nan, 3)], labels: [1])) {
            guard case .nonFiniteCoordinate = $0 as? SAMRuntimeError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try predictor.predict(points: [(3, .infinity)], labels: [1])) {
            guard case .nonFiniteCoordinate = $0 as? SAMRuntimeError else { return XCTFail("\($0)") }
        }
        assertError(.invalidLabel(index: 1, label: 2)) {
            _ = try predictor.predict(points: [(3, 3), (4, 4)], labels: [1, 2])
        }
        assertError(.invalidLabel(index: 0, label: -1)) { _ = try predictor.predict(points: [(3, 3)], labels: [-1]) }
        assertError(.labelCountMismatch(points: 2, labels: 1)) {
            _ = try predictor.predict(points: [(3, 3), (4, 4)], labels: [1])
        }
        assertError(.pointOutsideImage(index: 0, x: 169, y: 3, width: 168, height: 124)) {
            _ = try predictor.predict(points: [(169, 3)], labels: [1])
        }
        assertError(.pointOutsideImage(index: 0, x: 3, y: -0.5, width: 168, height: 124)) {
            _ = try predictor.predict(points: [(3, -0.5)], labels: [0])
        }
        // The edges themselves are inside.
        XCTAssertNoThrow(try predictor.predict(points: [(168, 124), (0, 0)], labels: [1, 0]))
    }

    func testBadBoxes() throws {
        let predictor = try withEmbedding()
        for box: [Float] in [[50, 10, 40, 20], [10, 30, 20, 20], [1, 2, 3], [-1, 0, 10, 10], [0, 0, 170, 10]] {
            XCTAssertThrowsError(try predictor.predict(box: box), "\(box)") {
                guard case .invalidBox = $0 as? SAMRuntimeError else { return XCTFail("\($0)") }
            }
        }
        XCTAssertThrowsError(try predictor.predict(box: [0, .nan, 10, 10])) {
            guard case .nonFiniteCoordinate = $0 as? SAMRuntimeError else { return XCTFail("\($0)") }
        }
    }

    func testBadMaskInput() throws {
        let predictor = try withEmbedding()
        let side = predictor.config.lowResMaskSize
        assertError(.inputShapeMismatch(what: "mask input", expected: [1, side, side], actualCount: 256 * 256)) {
            _ = try predictor.predict(maskInput: [Float](repeating: 0, count: 256 * 256))
        }
        var mask = [Float](repeating: 0, count: side * side)
        mask[7] = .nan
        assertError(.nonFiniteInput(what: "mask input")) { _ = try predictor.predict(maskInput: mask) }
    }

    func testEmbeddingOfAnotherModelIsRejected() throws {
        let (predictor, f, name) = try tinyPredictor()
        let sizes = f.sizes(name)
        let shape = predictor.imageEncoder.outputShape
        // vit_b's 256 × 64 × 64 embedding on a 64 × 16 × 16 model.
        assertError(.inputShapeMismatch(what: "image embedding", expected: shape, actualCount: 256 * 64 * 64)) {
            try predictor.setEmbedding([Float](repeating: 0, count: 256 * 64 * 64), originalSize: sizes.original)
        }
        XCTAssertFalse(predictor.isImageSet)
        let valid = [Float](repeating: 0, count: shape.reduce(1, *))
        XCTAssertThrowsError(try predictor.setEmbedding(valid, originalSize: ImageSize(width: 10, height: 0))) {
            guard case .invalidImageSize = $0 as? SAMRuntimeError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try predictor.setEmbedding(valid, originalSize: ImageSize(width: 10, height: 10),
                                                        inputSize: ImageSize(width: 100, height: 100))) {
            guard case .invalidImageSize = $0 as? SAMRuntimeError else { return XCTFail("\($0)") }
        }
        assertError(.inputShapeMismatch(what: "image tensor", expected: predictor.imageEncoder.inputShape, actualCount: 12)) {
            try predictor.setImageTensor([Float](repeating: 0, count: 12), originalSize: sizes.original,
                                         inputSize: sizes.input)
        }
        // Default input size follows ResizeLongestSide.
        try predictor.setEmbedding(valid, originalSize: sizes.original)
        XCTAssertTrue(predictor.isImageSet)
        XCTAssertEqual(predictor.transform.resizedSize(for: sizes.original), sizes.input)
    }

    func testBadWeightsAreNamed() throws {
        guard let f = Fixtures.shared, let weights = try f.weights("tiny_a") else { throw XCTSkip("no tiny_a weights") }
        let missing = EditedWeights(base: weights, drop: "mask_decoder.iou_token.weight")
        assertError(.missingWeight(name: "mask_decoder.iou_token.weight")) { _ = try SamPredictor(weights: missing) }
        let reshaped = EditedWeights(base: weights, reshape: ("image_encoder.blocks.1.attn.qkv.weight", [64, 192]))
        assertError(.weightShapeMismatch(name: "image_encoder.blocks.1.attn.qkv.weight", expected: [192, 64],
                                         actual: [64, 192])) { _ = try SamPredictor(weights: reshaped) }
    }
}

/// A provider that hides or re-labels one tensor of another provider.
private final class EditedWeights: WeightProvider {
    let base: WeightProvider
    let drop: String?
    let reshape: (String, [Int])?
    init(base: WeightProvider, drop: String? = nil, reshape: (String, [Int])? = nil) {
        self.base = base; self.drop = drop; self.reshape = reshape
    }
    var config: ModelConfig { base.config }
    func shape(_ name: String) -> [Int]? {
        if name == drop { return nil }
        if let reshape, reshape.0 == name { return reshape.1 }
        return base.shape(name)
    }
    func floats(_ name: String) throws -> [Float] {
        if name == drop { throw SAMRuntimeError.missingWeight(name: name) }
        return try base.floats(name)
    }
}
