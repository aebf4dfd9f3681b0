import XCTest
@testable import SAMQImage

final class ResizeTests: XCTestCase {
    /// ResizeLongestSide.apply_image against torchvision + Pillow outputs.
    func testResizeMatchesPillowBitExactly() throws {
        for line in try Fixtures.manifest("resize/manifest.txt") {
            let source = try RGBImage(contentsOf: Fixtures.path("resize/" + line[0]))
            let expected = try RGBImage(contentsOf: Fixtures.path("resize/" + line[1]))
            let resized = try ResizeLongestSide(targetLength: Int(line[2])!).apply(to: source)
            XCTAssertEqual(resized.size, expected.size, line[0])
            guard resized.size == expected.size else { continue }
            var same = 0, worst = 0
            for (a, b) in zip(resized.pixels, expected.pixels) {
                let d = abs(Int(a) - Int(b))
                if d == 0 { same += 1 }
                worst = max(worst, d)
            }
            let percent = 100 * Double(same) / Double(expected.pixels.count)
            print("resize parity \(source.size) -> \(resized.size): \(String(format: "%.4f", percent))% identical, max diff \(worst)")
            XCTAssertEqual(same, expected.pixels.count, "\(line[0]): max diff \(worst)")
        }
    }

    func testPreprocessShapeMatchesPython() {
        // Values from segment_anything's get_preprocess_shape.
        XCTAssertEqual(ResizeLongestSide.preprocessShape(height: 160, width: 220, longSide: 256), ImageSize(width: 256, height: 186))
        XCTAssertEqual(ResizeLongestSide.preprocessShape(height: 480, width: 640, longSide: 1024), ImageSize(width: 1024, height: 768))
        XCTAssertEqual(ResizeLongestSide.preprocessShape(height: 91, width: 37, longSide: 128), ImageSize(width: 52, height: 128))
        XCTAssertEqual(ResizeLongestSide.preprocessShape(height: 1000, width: 1500, longSide: 1024), ImageSize(width: 1024, height: 683))
    }

    func testIdentityAndRejectsBadSizes() throws {
        let image = try RGBImage(contentsOf: Fixtures.path("decode/rgb8.png"))
        XCTAssertEqual(try image.resizedBilinear(width: 23, height: 17), image)
        XCTAssertThrowsError(try image.resizedBilinear(width: 0, height: 5))
        XCTAssertThrowsError(try ResizeLongestSide(targetLength: 0).apply(to: image))
    }

    /// An image whose short side rounds to 0 px gets a clear error that names
    /// the smallest short side that works, and that size does work.
    func testTooElongatedImagesNameTheSmallestShortSide() throws {
        let resize = ResizeLongestSide(targetLength: 256)
        for (long, shortest) in [(8000, 16), (9000, 18), (2000, 4), (512, 1)] {
            if shortest > 1 {
                XCTAssertThrowsError(try resize.checkedResizedSize(for: ImageSize(width: long, height: shortest - 1))) { error in
                    XCTAssertEqual(error as? ImageError, .tooElongated(width: long, height: shortest - 1, targetLength: 256,
                                                                      minimumShortSide: shortest))
                }
                XCTAssertThrowsError(try resize.checkedResizedSize(for: ImageSize(width: shortest - 1, height: long)))
            }
            XCTAssertEqual(try resize.checkedResizedSize(for: ImageSize(width: long, height: shortest)).height, 1)
            XCTAssertEqual(try resize.checkedResizedSize(for: ImageSize(width: shortest, height: long)).width, 1)
        }
        XCTAssertThrowsError(try resize.apply(to: try RGBImage(width: 8000, height: 3)))
    }

    func testApplyCoordsAndBoxesMatchTorch() throws {
        let t = ResizeLongestSide(targetLength: 1024)
        let size = ImageSize(width: 220, height: 160)
        let coords = t.applyCoords([(0, 0), (10.5, 3.25), (219, 159), (100, 77)], originalSize: size)
        let expectedCoords = try Fixtures.floats("post/coords_160x220_1024.f32")
        XCTAssertEqual(coords.flatMap { [$0.x, $0.y] }, expectedCoords)
        let boxes = t.applyBoxes([(1, 2, 200, 150), (0.5, 0.5, 33.3, 44.4)], originalSize: size)
        let expectedBoxes = try Fixtures.floats("post/boxes_160x220_1024.f32")
        XCTAssertEqual(boxes.flatMap { [$0.x0, $0.y0, $0.x1, $0.y1] }, expectedBoxes)
    }

    func testNormalizeAndPadMatchesSamPreprocess() throws {
        let resized = try RGBImage(contentsOf: Fixtures.path("resize/out_37x91_128.png"))
        let tensor = try SAMPreprocessing.normalizeAndPad(resized, size: 128)
        let expected = try Fixtures.floats("post/normalized_37x91_128.f32")
        XCTAssertEqual(tensor.count, expected.count)
        XCTAssertEqual(tensor, expected)
        XCTAssertThrowsError(try SAMPreprocessing.normalizeAndPad(resized, size: 64))
    }
}
