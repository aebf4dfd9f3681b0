import XCTest
import SAMQFormat
import SAMQImage
@testable import SAMQRuntime

/// f32 parity with the official `segment_anything` outputs stored in the fixtures.
final class ParityTests: XCTestCase {
    static let tolerance = 1e-4

    private func fixtures() throws -> Fixtures {
        // The fixtures are committed: a missing manifest is a failure, not a skip.
        guard let f = Fixtures.shared else { throw FixtureError("fixtures manifest not found (Tests/Fixtures/sam/manifest.json)") }
        return f
    }

    /// Every config's image embedding from `input_tensor.npy` vs `embedding.npy`.
    func testEncoderMatchesOfficialEmbedding() throws {
        let f = try fixtures()
        XCTAssertFalse(f.configNames.isEmpty)
        for name in f.configNames {
            guard let weights = try f.weights(name) else {
                print("[parity] \(name): weights not available (external), skipped"); continue
            }
            let files = f.entry(name)["files"] as? [String: Any] ?? [:]
            let input = try f.npy(files["input_tensor"] as? String ?? "")
            let golden = try f.npy(files["embedding"] as? String ?? "")
            let encoder = try ImageEncoderViT(weights: weights)
            XCTAssertEqual([1] + encoder.outputShape, golden.shape, name)
            let start = Date()
            let embedding = try encoder.encode(input.values)
            let error = relativeL2(embedding, golden.values)
            print(String(format: "[parity] %@ embedding rel L2 %.3e (%.2f s)", name, error, Date().timeIntervalSince(start)))
            XCTAssertLessThanOrEqual(error, Self.tolerance, "\(name) embedding")
        }
    }

    /// Every prompt case through the predictor, from the golden embedding:
    /// low-res logits, IoU predictions and full-size masks.
    func testDecoderMatchesOfficialPredictions() throws {
        let f = try fixtures()
        for name in f.configNames {
            guard let weights = try f.weights(name) else {
                print("[parity] \(name): weights not available (external), skipped"); continue
            }
            let files = f.entry(name)["files"] as? [String: Any] ?? [:]
            let golden = try f.npy(files["embedding"] as? String ?? "")
            let predictor = try SamPredictor(weights: weights)
            let sizes = f.sizes(name)
            try predictor.setEmbedding(golden.values, originalSize: sizes.original, inputSize: sizes.input)
            var worstLogits = 0.0, worstIoU = 0.0, worstMasks = 0.0
            for c in f.cases(name) {
                let k = c["index"] as? Int ?? -1
                let caseFiles = c["files"] as? [String: Any] ?? [:]
                let points = (c["points"] as? [[Double]] ?? []).map { (x: Float($0[0]), y: Float($0[1])) }
                let labels = c["labels"] as? [Int] ?? []
                let box = (c["box"] as? [Double])?.map { Float($0) }
                let mask = try (c["mask_input"] as? String).map { try f.npy($0).values }
                let multimask = c["multimask"] as? Bool ?? true
                let prediction = try predictor.predict(points: points, labels: labels, box: box, maskInput: mask,
                                                       multimask: multimask)
                let logits = try f.npy(caseFiles["low_res_logits"] as? String ?? "")
                let iou = try f.npy(caseFiles["iou_predictions"] as? String ?? "")
                XCTAssertEqual([prediction.maskCount, prediction.lowResSize, prediction.lowResSize], logits.shape)
                let e = relativeL2(prediction.lowResLogits, logits.values)
                worstLogits = max(worstLogits, e)
                XCTAssertLessThanOrEqual(e, Self.tolerance, "\(name) case \(k) logits")
                let iouError = zip(prediction.iouPredictions, iou.values).map { Double(abs($0 - $1)) }.max() ?? .infinity
                worstIoU = max(worstIoU, iouError)
                XCTAssertLessThanOrEqual(iouError, Self.tolerance, "\(name) case \(k) iou")
                if let maskFile = caseFiles["masks"] as? String {
                    let masks = try f.npy(maskFile)
                    XCTAssertEqual([prediction.maskCount, prediction.height, prediction.width], masks.shape)
                    let differing = zip(prediction.masks, masks.values).filter { Float($0) != $1 }.count
                    let fraction = Double(differing) / Double(max(masks.values.count, 1))
                    worstMasks = max(worstMasks, fraction)
                    XCTAssertLessThanOrEqual(fraction, 1e-4, "\(name) case \(k) masks: \(differing) pixels differ")
                }
            }
            print(String(format: "[parity] %@ %d cases: logits max rel L2 %.3e, iou max abs %.3e, mask pixels max %.4f%%",
                         name, f.cases(name).count, worstLogits, worstIoU, 100 * worstMasks))
        }
    }

    /// The whole predictor path for one config: input tensor → encoder → decoder.
    func testEndToEndFromInputTensor() throws {
        let f = try fixtures()
        guard let name = f.configNames.first(where: { (try? f.weights($0)) != nil }),
              let weights = try f.weights(name) else { throw XCTSkip("no fixture weights") }
        let files = f.entry(name)["files"] as? [String: Any] ?? [:]
        let input = try f.npy(files["input_tensor"] as? String ?? "")
        let predictor = try SamPredictor(weights: weights)
        let sizes = f.sizes(name)
        try predictor.setImageTensor(input.values, originalSize: sizes.original, inputSize: sizes.input)
        for c in f.cases(name).prefix(4) where c["mask_input"] as? String == nil {
            let caseFiles = c["files"] as? [String: Any] ?? [:]
            let points = (c["points"] as? [[Double]] ?? []).map { (x: Float($0[0]), y: Float($0[1])) }
            let prediction = try predictor.predict(points: points, labels: c["labels"] as? [Int] ?? [],
                                                   box: (c["box"] as? [Double])?.map { Float($0) },
                                                   multimask: c["multimask"] as? Bool ?? true)
            let logits = try f.npy(caseFiles["low_res_logits"] as? String ?? "")
            XCTAssertLessThanOrEqual(relativeL2(prediction.lowResLogits, logits.values), Self.tolerance)
        }
    }

    /// `set_image` from the PNG: SAMQImage's resize and normalization, then the encoder.
    func testSetImageFromPNG() throws {
        let f = try fixtures()
        guard let png = (f.manifest["image"] as? [String: Any])?["png"] as? String else { throw XCTSkip("no image") }
        let image = try ImageDecoder().decode(path: f.path(png))
        for name in f.configNames {
            guard let weights = try f.weights(name) else { continue }
            let predictor = try SamPredictor(weights: weights)
            try predictor.setImage(image)
            let files = f.entry(name)["files"] as? [String: Any] ?? [:]
            let golden = try f.npy(files["embedding"] as? String ?? "")
            let error = relativeL2(try predictor.imageEmbedding(), golden.values)
            print(String(format: "[parity] %@ setImage(png) embedding rel L2 %.3e", name, error))
            XCTAssertLessThanOrEqual(error, Self.tolerance, name)
            guard let c = f.cases(name).first, let caseFiles = c["files"] as? [String: Any],
                  let maskFile = caseFiles["masks"] as? String else { continue }
            let points = (c["points"] as? [[Double]] ?? []).map { (x: Float($0[0]), y: Float($0[1])) }
            let prediction = try predictor.predict(points: points, labels: c["labels"] as? [Int] ?? [],
                                                   multimask: c["multimask"] as? Bool ?? true)
            let masks = try f.npy(maskFile)
            let differing = zip(prediction.masks, masks.values).filter { Float($0) != $1 }.count
            XCTAssertLessThanOrEqual(Double(differing) / Double(masks.values.count), 1e-4, name)
        }
    }

    /// Streaming the block weights gives the resident encoder's bits, and a
    /// broken block tensor is still caught when the encoder is built.
    func testStreamedEncoderMatchesResident() throws {
        let f = try fixtures()
        guard let weights = try f.weights("tiny_a") else { throw XCTSkip("no tiny_a weights") }
        let files = f.entry("tiny_a")["files"] as? [String: Any] ?? [:]
        let input = try f.npy(files["input_tensor"] as? String ?? "")
        let resident = try ImageEncoderViT(weights: weights).encode(input.values)
        let streamed = try ImageEncoderViT(weights: weights, residency: .streamed).encode(input.values)
        XCTAssertEqual(resident, streamed)
        let broken = RenamedWeights(base: weights, hidden: "image_encoder.blocks.2.mlp.lin2.bias")
        XCTAssertThrowsError(try ImageEncoderViT(weights: broken, residency: .streamed)) {
            XCTAssertEqual($0 as? SAMRuntimeError, .missingWeight(name: "image_encoder.blocks.2.mlp.lin2.bias"))
        }
    }

    /// The `.pth` (parity tests' source) and `.safetensors` copies hold the same tensors.
    func testCheckpointFormatsAgree() throws {
        let f = try fixtures()
        for name in f.configNames {
            guard let pth = try f.weights(name), let st = try f.weights(name, format: "safetensors") else { continue }
            XCTAssertEqual(Set(pth.names), Set(st.names), name)
            for tensor in pth.names {
                XCTAssertEqual(pth.shape(tensor), st.shape(tensor), tensor)
                XCTAssertEqual(try pth.floats(tensor), try st.floats(tensor), tensor)
            }
        }
    }

    /// `get_rel_pos` cases, with and without interpolation, q == k and q != k.
    func testRelativePositionMatchesGetRelPos() throws {
        let f = try fixtures()
        let cases = (f.manifest["relpos"] as? [String: Any])?["cases"] as? [[String: Any]] ?? []
        XCTAssertFalse(cases.isEmpty)
        for c in cases {
            let q = c["q_size"] as? Int ?? 0, k = c["k_size"] as? Int ?? 0
            let length = c["table_len"] as? Int ?? 0, channels = c["channels"] as? Int ?? 0
            let table = try f.npy(c["input"] as? String ?? "")
            let resizedGolden = try f.npy(c["resized"] as? String ?? "")
            let golden = try f.npy(c["output"] as? String ?? "")
            let resized = RelativePosition.resize(table.values, length: length, channels: channels,
                                                  to: 2 * max(q, k) - 1)
            XCTAssertLessThanOrEqual(zip(resized, resizedGolden.values).map { abs($0 - $1) }.max() ?? 1, 1e-6,
                                     "relpos case \(c["index"] ?? "?") resize")
            let out = RelativePosition.gather(querySize: q, keySize: k, table: table.values, length: length,
                                              channels: channels)
            XCTAssertEqual(out.count, golden.values.count)
            XCTAssertLessThanOrEqual(zip(out, golden.values).map { abs($0 - $1) }.max() ?? 1, 1e-6,
                                     "relpos case \(c["index"] ?? "?") gather")
        }
    }
}

/// Hides one tensor of another provider.
private final class RenamedWeights: WeightProvider {
    let base: WeightProvider
    let hidden: String
    init(base: WeightProvider, hidden: String) { self.base = base; self.hidden = hidden }
    var config: ModelConfig { base.config }
    func shape(_ name: String) -> [Int]? { name == hidden ? nil : base.shape(name) }
    func floats(_ name: String) throws -> [Float] {
        if name == hidden { throw SAMRuntimeError.missingWeight(name: name) }
        return try base.floats(name)
    }
}
