import XCTest
import Foundation
import SAMQConverter
import SAMQFormat
@testable import SAMQRuntime

/// MobileSAM's int8 file (W8A8 linears and pointwise convs, f32 depthwise
/// convs and attention biases) against its f32 conversion: embedding cosine
/// and mask IoU over every fixture prompt.
final class TinyViTInt8Tests: XCTestCase {
    func testTinyTInt8AgreesWithF32() throws {
        guard let f = MobileSAMFixture("tiny_t") else { throw FixtureError("tiny_t fixtures not found") }
        let result = try Self.compare(f)
        print(String(format: "[int8] tiny_t (TinyViT): embedding cosine %.6f, mean mask IoU %.4f over %d masks",
                     result.cosine, result.meanIoU, result.masks))
        XCTAssertGreaterThanOrEqual(result.cosine, 0.999)
        XCTAssertGreaterThanOrEqual(result.meanIoU, 0.97)
    }

    /// The official vit_t shapes; its weights are external and it takes minutes
    /// in debug, so it runs in optimized builds or with SAMQ_VIT_T=1.
    func testVitTInt8AgreesWithF32() throws {
        guard let f = MobileSAMFixture("vit_t"), f.checkpointPath != nil else {
            throw XCTSkip("vit_t fixture not found under $SAMQ_BIG_DIR/fixtures")
        }
        #if DEBUG
        guard ProcessInfo.processInfo.environment["SAMQ_VIT_T"] != nil else {
            throw XCTSkip("vit_t takes minutes in debug: run in release or set SAMQ_VIT_T=1")
        }
        #endif
        let result = try Self.compare(f)
        print(String(format: "[int8] vit_t: embedding cosine %.6f, mean mask IoU %.4f over %d masks",
                     result.cosine, result.meanIoU, result.masks))
        XCTAssertGreaterThanOrEqual(result.cosine, 0.999)
        XCTAssertGreaterThanOrEqual(result.meanIoU, 0.97)
    }

    /// Which layers cost int8 accuracy: each group kept f32 in turn (opt-in, informative).
    func testBlameByLayerGroup() throws {
        guard ProcessInfo.processInfo.environment["SAMQ_BLAME"] != nil else { throw XCTSkip("set SAMQ_BLAME=1") }
        let name = ProcessInfo.processInfo.environment["SAMQ_BLAME_MODEL"] ?? "tiny_t"
        guard let f = MobileSAMFixture(name) else { throw FixtureError("\(name) fixtures not found") }
        // SAMQ_BLAME_GROUPS="a,b;c" tries groups [a, b] and [c] instead of the defaults.
        let custom = ProcessInfo.processInfo.environment["SAMQ_BLAME_GROUPS"].map { text in
            text.split(separator: ";").map { $0.split(separator: ",").map(String.init) }
        }
        let groups: [[String]] = custom ?? [[], ["patch_embed"], [".conv1."], [".conv3."], ["downsample"], ["attn.qkv"],
                                            ["attn.proj"], ["mlp.fc1"], ["mlp.fc2"], ["neck"], ["mask_decoder"],
                                            ["image_encoder"]]
        for group in groups {
            let r = try Self.compare(f, keepFloat32: group)
            print(String(format: "[blame] %@ f32 %@: cosine %.6f, IoU %.4f", name, group.description, r.cosine, r.meanIoU))
        }
    }

    static func compare(_ f: MobileSAMFixture, keepFloat32: [String] = []) throws -> (cosine: Double, meanIoU: Double, masks: Int) {
        let directory = try MobileSAMFixture.temporaryDirectory("tinyvit-int8-\(f.name)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let int8 = try SamPredictor(weights: try SAMQFileWeights(path: try f.convert(dtype: .int8, into: directory,
                                                                                   keepFloat32: keepFloat32)))
        let f32 = try SamPredictor(weights: try SAMQFileWeights(path: try f.convert(dtype: .f32, into: directory)))
        XCTAssertEqual(int8.imageEncoder.precision, .int8)
        XCTAssertEqual(f32.imageEncoder.precision, .float32)
        let input = try f.file("input_tensor")
        for predictor in [int8, f32] {
            try predictor.setImageTensor(input.values, originalSize: f.sizes.original, inputSize: f.sizes.input)
        }
        let cosine = Int8AccuracyTests.cosine(try int8.imageEmbedding(), try f32.imageEmbedding())
        var ious: [Double] = []
        for c in f.cases {
            let points = (c["points"] as? [[Double]] ?? []).map { (x: Float($0[0]), y: Float($0[1])) }
            let mask = try (c["mask_input"] as? String).map { try f.npy($0).values }
            let run = { (p: SamPredictor) in
                try p.predict(points: points, labels: c["labels"] as? [Int] ?? [],
                              box: (c["box"] as? [Double])?.map { Float($0) }, maskInput: mask,
                              multimask: c["multimask"] as? Bool ?? true)
            }
            let a = try run(int8), b = try run(f32)
            let plane = a.height * a.width
            for m in 0..<a.maskCount {
                ious.append(try maskIoU(a.masks[(m * plane)..<((m + 1) * plane)], b.masks[(m * plane)..<((m + 1) * plane)]))
            }
        }
        return (cosine, ious.reduce(0, +) / Double(max(ious.count, 1)), ious.count)
    }
}
