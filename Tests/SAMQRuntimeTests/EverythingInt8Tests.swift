import XCTest
import SAMQConverter
import SAMQFormat
import SAMQImage
@testable import SAMQRuntime

/// Segment-everything on the int8 path: the demo model converted to an int8
/// `.samq` must find at least 90% of the official (f32) masks at IoU ≥ 0.85.
final class EverythingInt8Tests: XCTestCase {
    func testInt8DemoModelFindsTheOfficialMasks() throws {
        let root = EverythingFixtures.repositoryRoot
        let checkpoint = root + "/Models/demo/samq_demo_256.pth"
        let json = try EverythingFixtures.json("demo_official.json")
        guard sha256Hex(of: try MappedFile(path: checkpoint)) == json["checkpoint_sha256"] as? String else {
            return XCTFail("demo_official.json was made from another checkpoint: rerun Tests/Fixtures/make_amg_fixtures.py")
        }
        let run = try EverythingEndToEndTests.OfficialRun(json)
        let model = FileManager.default.temporaryDirectory.appendingPathComponent("everything-int8-\(getpid()).samq").path
        defer { try? FileManager.default.removeItem(atPath: model) }
        _ = try Converter(options: ConversionOptions()).convert(
            try ConversionInput(checkpoint: try CheckpointLoader.open(path: checkpoint), converterVersion: "test",
                                hashSource: false), to: model)
        let predictor = try SamPredictor(weights: try SAMQFileWeights(path: model))
        XCTAssertEqual(predictor.imageEncoder.precision, .int8)
        let image = try RGBImage(contentsOf: root + "/Models/demo/" + ((json["image"] as? [String: Any])?["file_name"] as? String ?? ""))
        let result = try AutomaticMaskGenerator(predictor: predictor, options: run.options).generate(image)
        let comparison = MaskSetComparison(official: run.masks, ours: result.masks.map(\.segmentation))
        XCTAssertGreaterThan(run.masks.count, 0)
        XCTAssertGreaterThanOrEqual(comparison.matchedFraction(minimumIoU: 0.85), 0.9,
                                    "\(result.masks.count) int8 masks, \(run.masks.count) official")
    }
}
