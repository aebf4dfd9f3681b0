import XCTest
import SAMQConverter
import SAMQFormat
import SAMQImage
@testable import SAMQRuntime

/// The whole generator against the official `SamAutomaticMaskGenerator` (f32,
/// same checkpoint), from the fixtures of Tests/Fixtures/make_amg_fixtures.py:
/// mask count within ±5 % and ≥ 95 % of official masks matched at IoU ≥ 0.9.
final class EverythingEndToEndTests: XCTestCase {
    /// An official run: its options, image and masks.
    struct OfficialRun {
        var options: AutomaticMaskGeneratorOptions
        var imageWidth: Int
        var imageHeight: Int
        var masks: [MaskRLE]
        var annotations: [[String: Any]]

        init(_ json: [String: Any]) throws {
            let raw = json["options"] as? [String: Any] ?? [:]
            var options = AutomaticMaskGeneratorOptions()
            func float(_ key: String) -> Float? { (raw[key] as? NSNumber).map { $0.floatValue } }
            func int(_ key: String) -> Int? { (raw[key] as? NSNumber).map { $0.intValue } }
            options.pointsPerSide = int("points_per_side") ?? options.pointsPerSide
            options.predIoUThresh = float("pred_iou_thresh") ?? options.predIoUThresh
            options.stabilityScoreThresh = float("stability_score_thresh") ?? options.stabilityScoreThresh
            options.stabilityScoreOffset = float("stability_score_offset") ?? options.stabilityScoreOffset
            options.boxNMSThresh = float("box_nms_thresh") ?? options.boxNMSThresh
            options.cropNLayers = int("crop_n_layers") ?? options.cropNLayers
            options.cropNMSThresh = float("crop_nms_thresh") ?? options.cropNMSThresh
            options.cropNPointsDownscaleFactor = int("crop_n_points_downscale_factor") ?? options.cropNPointsDownscaleFactor
            options.minMaskRegionArea = int("min_mask_region_area") ?? options.minMaskRegionArea
            self.options = options
            let image = json["image"] as? [String: Any] ?? [:]
            imageWidth = image["width"] as? Int ?? 0
            imageHeight = image["height"] as? Int ?? 0
            annotations = json["annotations"] as? [[String: Any]] ?? []
            masks = try annotations.map { annotation in
                let segmentation = annotation["segmentation"] as? [String: Any] ?? [:]
                let size = EverythingFixtures.ints(segmentation["size"])
                guard size.count == 2 else { throw FixtureError("bad segmentation size") }
                return try MaskRLE(height: size[0], width: size[1], cocoString: segmentation["counts"] as? String ?? "")
            }
        }
    }

    private func compare(run: OfficialRun, predictor: SamPredictor, image: RGBImage,
                         file: StaticString = #filePath, line: UInt = #line) throws -> EverythingResult {
        XCTAssertEqual(image.width, run.imageWidth, file: file, line: line)
        XCTAssertEqual(image.height, run.imageHeight, file: file, line: line)
        let generator = try AutomaticMaskGenerator(predictor: predictor, options: run.options)
        let result = try generator.generate(image)
        let comparison = MaskSetComparison(official: run.masks, ours: result.masks.map(\.segmentation))
        XCTAssertGreaterThan(run.masks.count, 0, "the fixture must hold masks", file: file, line: line)
        XCTAssertEqual(comparison.countRatio, 1, accuracy: 0.05,
                       "\(result.masks.count) masks, official \(run.masks.count)", file: file, line: line)
        let matched = comparison.matchedFraction(minimumIoU: 0.9)
        XCTAssertGreaterThanOrEqual(matched, 0.95, "matched at IoU >= 0.9: \(matched) (\(result.masks.count) masks, official \(run.masks.count))", file: file, line: line)
        // Records are self-consistent and in the image.
        for mask in result.masks {
            XCTAssertEqual(mask.box, mask.segmentation.boundingBox, file: file, line: line)
            // A threshold of 0 disables its filter, as in the official code.
            if run.options.predIoUThresh > 0 {
                XCTAssertGreaterThan(mask.predictedIoU, run.options.predIoUThresh, file: file, line: line)
            }
            if run.options.stabilityScoreThresh > 0 {
                XCTAssertGreaterThanOrEqual(mask.stabilityScore, run.options.stabilityScoreThresh, file: file, line: line)
            }
        }
        return result
    }

    func testTinyRandomModelMatchesOfficial() throws {
        guard let fixtures = Fixtures.shared, let weights = try fixtures.weights("tiny_a") else {
            throw XCTSkip("tiny_a fixture weights not found")
        }
        let run = try OfficialRun(try EverythingFixtures.json("tiny_a_official.json"))
        let image = try RGBImage(contentsOf: fixtures.path("image.png"))
        let result = try compare(run: run, predictor: try SamPredictor(weights: weights), image: image)
        // Same f32 graph as the official: the scores agree closely for the masks in both sets.
        let official = Dictionary(uniqueKeysWithValues: zip(run.masks, run.annotations).map { ($0.0.counts, $0.1) })
        var same = 0
        for mask in result.masks {
            guard let reference = official[mask.segmentation.counts] else { continue }
            same += 1
            XCTAssertEqual(Double(mask.predictedIoU), (reference["predicted_iou"] as? NSNumber)?.doubleValue ?? -1, accuracy: 1e-4)
            XCTAssertEqual(Double(mask.stabilityScore), (reference["stability_score"] as? NSNumber)?.doubleValue ?? -1, accuracy: 1e-3)
            XCTAssertEqual(mask.bbox, EverythingFixtures.ints(reference["bbox"]))
            XCTAssertEqual(mask.area, reference["area"] as? Int)
            XCTAssertEqual(mask.cropBox.xywh, EverythingFixtures.ints(reference["crop_box"]))
            let point = EverythingFixtures.doubles((reference["point_coords"] as? [Any])?.first)
            XCTAssertEqual([mask.point.x, mask.point.y], point)
        }
        XCTAssertGreaterThan(same, result.masks.count * 9 / 10, "most masks should be bit-identical")
    }

    /// A cached whole-image embedding (what `samq serve` holds) replaces the
    /// full-image crop's encode without changing a bit; smaller crops still
    /// encode themselves.
    func testCachedEmbeddingGivesIdenticalMasks() throws {
        guard let fixtures = Fixtures.shared, let weights = try fixtures.weights("tiny_a") else {
            throw XCTSkip("tiny_a fixture weights not found")
        }
        let image = try RGBImage(contentsOf: fixtures.path("image.png"))
        let predictor = try SamPredictor(weights: weights)
        try predictor.setImage(image)
        let embedding = try predictor.imageEmbedding()
        var options = AutomaticMaskGeneratorOptions()
        options.pointsPerSide = 4
        options.cropNLayers = 1
        options.predIoUThresh = 0
        options.stabilityScoreThresh = 0
        let generator = try AutomaticMaskGenerator(predictor: predictor, options: options)
        let encoded = try generator.generate(image)
        let cached = try generator.generate(image, imageEmbedding: embedding)
        XCTAssertGreaterThan(encoded.masks.count, 0)
        XCTAssertEqual(encoded.masks.map(\.segmentation.counts), cached.masks.map(\.segmentation.counts))
        XCTAssertEqual(encoded.masks.map(\.predictedIoU), cached.masks.map(\.predictedIoU))
        XCTAssertEqual(encoded.masks.map(\.cropBox.xywh), cached.masks.map(\.cropBox.xywh))
        // ... and the embedding is really used: another one gives other masks.
        let other = try generator.generate(image, imageEmbedding: embedding.map { -$0 })
        XCTAssertNotEqual(other.masks.map(\.segmentation.counts), cached.masks.map(\.segmentation.counts))
        // A wrong-shaped embedding is an error, not a crash.
        XCTAssertThrowsError(try generator.generate(image, imageEmbedding: [0, 1, 2]))
    }

    /// The trained demo model, when present (Models/demo/samq_demo_256.pth; fixture
    /// demo_official.json made from it).
    func testDemoModelMatchesOfficial() throws {
        try runDemo(fixture: "demo_official.json")
    }

    /// Crop layer 1 and small-region postprocessing with the demo model.
    func testDemoModelWithCropsMatchesOfficial() throws {
        try runDemo(fixture: "demo_crops_official.json")
    }

    /// `$SAMQ_DEMO_CHECKPOINT` overrides the checkpoint (e.g. an interim training snapshot).
    private func runDemo(fixture: String) throws {
        let root = EverythingFixtures.repositoryRoot
        let checkpoint = ProcessInfo.processInfo.environment["SAMQ_DEMO_CHECKPOINT"]
            ?? root + "/Models/demo/samq_demo_256.pth"
        guard FileManager.default.fileExists(atPath: checkpoint) else { throw XCTSkip("\(checkpoint) not found") }
        let json = try EverythingFixtures.json(fixture)
        let sha = sha256Hex(of: try MappedFile(path: checkpoint))
        guard sha == json["checkpoint_sha256"] as? String else {
            XCTFail("\(fixture) was made from another checkpoint than \(checkpoint): rerun Tests/Fixtures/make_amg_fixtures.py")
            return
        }
        let run = try OfficialRun(json)
        let demo = try EverythingFixtures.json("demo_model.json")
        let file = URL(fileURLWithPath: checkpoint)
        let fixtures = Fixtures(directory: file.deletingLastPathComponent().path,
                                manifest: ["configs": ["demo": ["config": demo["config"] ?? [:],
                                                                "weights": ["pth": file.lastPathComponent]]]])
        guard let weights = try fixtures.weights("demo") else { throw XCTSkip("demo weights not found") }
        let image = try RGBImage(contentsOf: root + "/Models/demo/" + ((json["image"] as? [String: Any])?["file_name"] as? String ?? ""))
        _ = try compare(run: run, predictor: try SamPredictor(weights: weights), image: image)
    }
}
