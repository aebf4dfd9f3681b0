import XCTest
import Foundation
import SAMQConverter
import SAMQFormat
@testable import SAMQRuntime

/// MobileSAM's f32 path against the official `mobile_sam` outputs:
/// checkpoint → samq-convert (detection, BatchNorm folding) → runtime.
final class TinyViTParityTests: XCTestCase {
    func testTinyTStagesEmbeddingAndLogitsMatchOfficial() throws {
        guard let f = MobileSAMFixture("tiny_t") else { throw FixtureError("tiny_t fixtures not found") }
        try checkParity(f, stages: true)
    }

    /// The official vit_t shapes (external weights; minutes in debug, so it runs
    /// in optimized builds or with SAMQ_VIT_T=1).
    func testVitTEmbeddingAndLogitsMatchOfficial() throws {
        guard let f = MobileSAMFixture("vit_t"), f.checkpointPath != nil else {
            throw XCTSkip("vit_t fixture not found under $SAMQ_BIG_DIR/fixtures")
        }
        #if DEBUG
        guard ProcessInfo.processInfo.environment["SAMQ_VIT_T"] != nil else {
            throw XCTSkip("vit_t takes minutes in debug: run in release or set SAMQ_VIT_T=1")
        }
        #endif
        try checkParity(f, stages: false)
    }

    func checkParity(_ f: MobileSAMFixture, stages checkStages: Bool) throws {
        let directory = try MobileSAMFixture.temporaryDirectory("tinyvit-parity")
        defer { try? FileManager.default.removeItem(at: directory) }
        let weights = try SAMQFileWeights(path: try f.convert(dtype: .f32, into: directory))
        XCTAssertEqual(weights.config.imageEncoder.kind, "tiny_vit")
        XCTAssertEqual(weights.config.imageEncoder.tinyViT?.embedDims, f.config["embed_dims"] as? [Int])
        XCTAssertEqual(weights.config.imageEncoder.tinyViT?.windowSizes.dropFirst(),
                       (f.config["window_sizes"] as? [Int])?.dropFirst())

        let encoder = try ImageEncoderTinyViT(weights: weights, precision: .float32)
        let input = try f.file("input_tensor")
        let (embedding, stages) = try encoder.encodeStages(input.values)
        for (i, output) in stages.enumerated() where checkStages {
            let golden = try f.file("layer_\(i)")
            let error = relativeL2(output, golden.values)
            XCTAssertLessThanOrEqual(error, 1e-5, "layer \(i)")
        }
        let embeddingError = relativeL2(embedding, try f.file("embedding").values)
        XCTAssertLessThanOrEqual(embeddingError, 1e-4)

        let predictor = try SamPredictor(weights: weights)
        try predictor.setImageTensor(input.values, originalSize: f.sizes.original, inputSize: f.sizes.input)
        var worst = 0.0
        for c in f.cases {
            let files = c["files"] as? [String: Any] ?? [:]
            let points = (c["points"] as? [[Double]] ?? []).map { (x: Float($0[0]), y: Float($0[1])) }
            let mask = try (c["mask_input"] as? String).map { try f.npy($0).values }
            let prediction = try predictor.predict(points: points, labels: c["labels"] as? [Int] ?? [],
                                                   box: (c["box"] as? [Double])?.map { Float($0) }, maskInput: mask,
                                                   multimask: c["multimask"] as? Bool ?? true)
            let logits = try f.npy(files["low_res_logits"] as? String ?? "")
            let iou = try f.npy(files["iou_predictions"] as? String ?? "")
            let e = relativeL2(prediction.lowResLogits, logits.values)
            worst = max(worst, e)
            XCTAssertLessThanOrEqual(e, 1e-4, "case \(c["index"] ?? "?")")
            for (a, b) in zip(prediction.iouPredictions, iou.values) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        }
        print(String(format: "[parity] %@ (TinyViT) f32: embedding rel L2 %.3e, logits max rel L2 %.3e",
                     f.name, embeddingError, worst))
    }

    /// Strip sizes are a memory knob only: one-row strips everywhere (every
    /// halo, carry and strip edge exercised) give the same embedding.
    func testStripSizeDoesNotChangeResults() throws {
        guard let f = MobileSAMFixture("tiny_t") else { throw FixtureError("tiny_t fixtures not found") }
        let directory = try MobileSAMFixture.temporaryDirectory("tinyvit-strips")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try f.convert(dtype: .int8, into: directory)
        let input = try f.file("input_tensor").values
        let whole = try ImageEncoderTinyViT(weights: try SAMQFileWeights(path: path))
        whole.stripPixels = 1 << 30
        let thin = try ImageEncoderTinyViT(weights: try SAMQFileWeights(path: path))
        thin.stripPixels = 1
        let (a, stagesA) = try whole.encodeStages(input)
        let (b, stagesB) = try thin.encodeStages(input)
        for (i, (x, y)) in zip(stagesA, stagesB).enumerated() { XCTAssertEqual(x, y, "stage \(i)") }
        XCTAssertEqual(a, b)
    }
}
