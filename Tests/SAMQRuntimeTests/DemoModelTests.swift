import Foundation
import XCTest
import SAMQConverter
import SAMQFormat
import SAMQImage
@testable import SAMQRuntime

/// The trained demo model (Models/demo) on its 50 held-out generated scenes:
/// how well it segments (f32), and what int8 costs against f32.
final class DemoModelTests: XCTestCase {
    static let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Models/demo")

    struct Scene { var image: RGBImage; var truth: [Bool]; var point: (x: Float, y: Float) }

    static func scenes() throws -> [Scene] {
        let data = try Data(contentsOf: demo.appendingPathComponent("heldout.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let entries = try XCTUnwrap(json["entries"] as? [[String: Any]])
        return try entries.map { entry in
            let image = try RGBImage(contentsOf: demo.appendingPathComponent(entry["image"] as? String ?? "").path)
            let mask = try RGBImage(contentsOf: demo.appendingPathComponent(entry["mask"] as? String ?? "").path)
            let point = entry["point"] as? [Double] ?? [0, 0]
            let truth = stride(from: 0, to: mask.pixels.count, by: 3).map { mask.pixels[$0] > 127 }
            return Scene(image: image, truth: truth, point: (Float(point[0]), Float(point[1])))
        }
    }

    /// The converted file is removed when the test ends.
    func convert(_ weights: ConversionOptions.WeightType) throws -> SamPredictor {
        var options = ConversionOptions()
        options.weights = weights
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(weights)-\(getpid()).samq").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        let source = try CheckpointLoader.open(path: Self.demo.appendingPathComponent("samq_demo_256.pth").path)
        _ = try Converter(options: options).convert(try ConversionInput(checkpoint: source, converterVersion: "test",
                                                                        hashSource: false), to: path)
        return try SamPredictor(weights: try SAMQFileWeights(path: path))
    }

    static func iou(_ a: [Bool], _ b: [Bool]) -> Double {
        var intersection = 0, union = 0
        for (x, y) in zip(a, b) {
            if x && y { intersection += 1 }
            if x || y { union += 1 }
        }
        return union == 0 ? 1 : Double(intersection) / Double(union)
    }

    /// Best-rated of the three masks, as SAM's demo picks.
    static func bestMask(_ p: Prediction) -> [Bool] {
        let best = p.iouPredictions.indices.max { p.iouPredictions[$0] < p.iouPredictions[$1] } ?? 0
        return p.mask(best).map { $0 != 0 }
    }

    func testSegmentsHeldOutScenesAndInt8AgreesWithF32() throws {
        let scenes = try Self.scenes()
        XCTAssertEqual(scenes.count, 50)
        let f32 = try convert(.f32), int8 = try convert(.int8)
        XCTAssertEqual(f32.imageEncoder.precision, .float32)
        XCTAssertEqual(int8.imageEncoder.precision, .int8)
        var truthIoU: [Double] = [], agreement: [Double] = []
        var signal = 0.0, noise = 0.0
        for scene in scenes {
            try f32.setImage(scene.image)
            try int8.setImage(scene.image)
            let reference = try f32.imageEmbedding(), quantized = try int8.imageEmbedding()
            for (r, q) in zip(reference, quantized) {
                signal += Double(r) * Double(r)
                noise += (Double(r) - Double(q)) * (Double(r) - Double(q))
            }
            let a = Self.bestMask(try f32.predict(points: [scene.point], labels: [1]))
            let b = Self.bestMask(try int8.predict(points: [scene.point], labels: [1]))
            truthIoU.append(Self.iou(a, scene.truth))
            agreement.append(Self.iou(b, a))
        }
        let meanTruth = truthIoU.reduce(0, +) / Double(truthIoU.count)
        let meanAgreement = agreement.reduce(0, +) / Double(agreement.count)
        let sqnr = 10 * log10(signal / max(noise, 1e-30))
        print("[demo] f32 mean IoU vs truth \(meanTruth); int8 vs f32 mean IoU \(meanAgreement), embedding SQNR \(sqnr) dB")
        // The target. The model card reports 0.864 for the official
        // implementation on these 50 scenes (0.856 on 1,000 generated ones, see
        // Models/demo/MODEL_CARD.md), so a regression in the runtime or worse
        // weights fail here.
        XCTAssertGreaterThanOrEqual(meanTruth, 0.85)
        XCTAssertGreaterThanOrEqual(meanAgreement, 0.97)
        XCTAssertGreaterThanOrEqual(sqnr, 25)
    }
}
