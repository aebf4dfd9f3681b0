import XCTest
import SAMQImage
@testable import SAMQRuntime

/// Stability score, box NMS and small-region removal against the official
/// `calculate_stability_score`, torchvision `batched_nms` and `remove_small_regions` (OpenCV).
final class EverythingFilterTests: XCTestCase {
    func testStabilityScoreMatchesOfficial() throws {
        var sawNaN = false
        for entry in try EverythingFixtures.units("stability") {
            let logits = EverythingFixtures.doubles(entry["logits"]).map { Float($0) }
            let score = StabilityScore.compute(logits: logits, threshold: Float(entry["threshold"] as? Double ?? 0),
                                               offset: Float(entry["offset"] as? Double ?? 0))
            if let expected = entry["score"] as? Double {
                XCTAssertEqual(score, Float(expected))
            } else {
                XCTAssertTrue(score.isNaN, "0/0 must be NaN like torch")
                sawNaN = true
            }
        }
        XCTAssertTrue(sawNaN)
    }

    /// With both filters off, an empty mask (stability 0/0) is dropped instead
    /// of reaching the JSON writer with a NaN score; a non-empty one is kept.
    func testEmptyMaskIsDroppedWithTheFiltersOff() throws {
        var options = AutomaticMaskGeneratorOptions()
        options.predIoUThresh = 0
        options.stabilityScoreThresh = 0
        let size = ImageSize(width: 8, height: 8)
        let scorer = MaskScorer(options: options, maskThreshold: 0, crop: CropBox(x0: 0, y0: 0, x1: 8, y1: 8, layer: 0),
                                imageWidth: 8, imageHeight: 8,
                                upscaler: MaskUpscaler(lowResSize: 4, paddedSize: 8, resizedSize: size, originalSize: size))
        let empty = [Float](repeating: -5, count: 16)
        var blob = empty
        for i in [5, 6, 9, 10] { blob[i] = 5 }
        let masks = scorer.masks(from: (lowRes: empty + blob, iou: [0.9, 0.8], count: 2), point: GridPoint(x: 4, y: 4))
        XCTAssertEqual(masks.count, 1)
        XCTAssertEqual(masks.first?.predictedIoU, 0.8)
        XCTAssertFalse(masks.first?.stabilityScore.isNaN ?? true)
    }

    func testBoxNMSMatchesTorchvision() throws {
        for (k, entry) in try EverythingFixtures.units("nms").enumerated() {
            let boxes = ((entry["boxes"] as? [[Int]]) ?? []).map { MaskBox(x0: $0[0], y0: $0[1], x1: $0[2], y1: $0[3]) }
            let scores = EverythingFixtures.doubles(entry["scores"]).map { Float($0) }
            let keep = BoxNMS.keep(boxes: boxes, scores: scores, iouThreshold: Float(entry["threshold"] as? Double ?? 0))
            XCTAssertEqual(keep, EverythingFixtures.ints(entry["keep"]), "case \(k)")
        }
    }

    func testSmallRegionRemovalMatchesOpenCV() throws {
        for entry in try EverythingFixtures.units("small_regions") {
            let width = entry["width"] as? Int ?? 0, height = entry["height"] as? Int ?? 0
            let area = Double(entry["area"] as? Int ?? 0)
            let name = "\(entry["name"] ?? "") area \(area)"
            let mask = EverythingFixtures.bitmap(entry["mask"])
            let holes = try SmallRegionRemoval.apply(mask, width: width, height: height, minimumArea: area, mode: .holes)
            XCTAssertEqual(holes.mask, EverythingFixtures.bitmap(entry["holes"]), "holes, \(name)")
            XCTAssertEqual(holes.changed, entry["holes_changed"] as? Bool, "holes, \(name)")
            let islands = try SmallRegionRemoval.apply(mask, width: width, height: height, minimumArea: area, mode: .islands)
            XCTAssertEqual(islands.mask, EverythingFixtures.bitmap(entry["islands"]), "islands, \(name)")
            XCTAssertEqual(islands.changed, entry["islands_changed"] as? Bool, "islands, \(name)")
        }
    }

    func testNearCropEdgeIgnoresImageEdges() {
        let crop = CropBox(x0: 0, y0: 0, x1: 100, y1: 80, layer: 1)
        // Touches the crop's right side (x 100 is inside a 200-wide image): dropped.
        XCTAssertTrue(MaskBox(x0: 30, y0: 30, x1: 95, y1: 50).isNearCropEdge(crop, imageWidth: 200, imageHeight: 80))
        // Touches only the top and bottom, which are image edges: kept.
        XCTAssertFalse(MaskBox(x0: 30, y0: 0, x1: 60, y1: 79).isNearCropEdge(crop, imageWidth: 200, imageHeight: 80))
    }
}
