import XCTest
@testable import SAMQRuntime

/// Point grids and crop boxes against `build_all_layer_point_grids` and `generate_crop_boxes`.
final class EverythingGridTests: XCTestCase {
    func testPointGridsMatchOfficial() throws {
        for entry in try EverythingFixtures.units("grids") {
            let n = entry["points_per_side"] as? Int ?? 0
            let layers = entry["layers"] as? Int ?? 0
            let factor = entry["factor"] as? Int ?? 0
            let expected = ((entry["grids"] as? [[[String]]]) ?? []).map { $0.map { $0.compactMap(Double.init) } }
            let grids = PointGrid.allLayers(pointsPerSide: n, cropLayers: layers, downscaleFactor: factor)
            XCTAssertEqual(grids.count, expected.count, "n=\(n) layers=\(layers)")
            for (grid, reference) in zip(grids, expected) {
                XCTAssertEqual(grid.count, reference.count, "n=\(n)")
                for (point, ref) in zip(grid, reference) {
                    // float64 bit-exact: the same operations in the same order as NumPy.
                    XCTAssertEqual(point.x, ref[0], "n=\(n)")
                    XCTAssertEqual(point.y, ref[1], "n=\(n)")
                }
            }
        }
    }

    func testGridOrderIsXFastest() {
        let grid = PointGrid.build(pointsPerSide: 2)
        XCTAssertEqual(grid, [GridPoint(x: 0.25, y: 0.25), GridPoint(x: 0.75, y: 0.25),
                              GridPoint(x: 0.25, y: 0.75), GridPoint(x: 0.75, y: 0.75)])
    }

    func testCropBoxesMatchOfficial() throws {
        var layersSeen = Set<Int>()
        for entry in try EverythingFixtures.units("crops") {
            let width = entry["width"] as? Int ?? 0, height = entry["height"] as? Int ?? 0
            let layers = entry["layers"] as? Int ?? 0
            let ratio = entry["overlap_ratio"] as? Double ?? 0
            let expected = (entry["boxes"] as? [[Int]]) ?? []
            let layerIndexes = EverythingFixtures.ints(entry["layer_idxs"])
            let boxes = CropBox.generate(width: width, height: height, layers: layers, overlapRatio: ratio)
            XCTAssertEqual(boxes.map { [$0.x0, $0.y0, $0.x1, $0.y1] }, expected, "\(width)×\(height) layers \(layers) ratio \(ratio)")
            XCTAssertEqual(boxes.map(\.layer), layerIndexes)
            layersSeen.insert(layers)
        }
        XCTAssertEqual(layersSeen, [1, 2])
    }

    func testCropBoxesOfTwoLayers() {
        // 1 + 4 + 16 crops, the first the whole image.
        let boxes = CropBox.generate(width: 640, height: 480, layers: 2, overlapRatio: 512.0 / 1500.0)
        XCTAssertEqual(boxes.count, 21)
        XCTAssertEqual(boxes[0], CropBox(x0: 0, y0: 0, x1: 640, y1: 480, layer: 0))
        XCTAssertEqual(boxes.filter { $0.layer == 2 }.count, 16)
    }

    func testOptionsValidation() {
        var options = AutomaticMaskGeneratorOptions()
        XCTAssertNoThrow(try options.validate())
        options.pointsPerBatch = 0
        XCTAssertThrowsError(try options.validate()) { XCTAssertNotNil($0 as? EverythingError) }
        options = AutomaticMaskGeneratorOptions()
        options.pointGrids = [PointGrid.build(pointsPerSide: 3)]
        options.cropNLayers = 1
        XCTAssertThrowsError(try options.validate())
        options = AutomaticMaskGeneratorOptions()
        options.pointsPerSide = AutomaticMaskGeneratorOptions.maxPointsPerSide
        XCTAssertNoThrow(try options.validate())
        options.pointsPerSide += 1
        XCTAssertThrowsError(try options.validate())
    }
}
