import XCTest
@testable import SAMQImage

final class OverlayTests: XCTestCase {
    private func sample() throws -> (RGBImage, [Bool]) {
        let image = try RGBImage(width: 120, height: 80, filledWith: RGBColor(100, 100, 100))
        var mask = [Bool](repeating: false, count: 120 * 80)
        for y in 20..<60 { for x in 30..<90 { mask[y * 120 + x] = true } }
        return (image, mask)
    }

    func testMaskBlendOutlinePointsAndBoxes() throws {
        let (image, mask) = try sample()
        let out = try Overlay.render(on: image, masks: [mask], colors: [RGBColor(200, 0, 0)], alpha: 0.5,
                                     points: [OverlayPoint(x: 10, y: 10, label: 1), OverlayPoint(x: 110, y: 70, label: 0)],
                                     boxes: [OverlayBox(x0: 25, y0: 15, x1: 95, y1: 65)])
        XCTAssertEqual(out[60, 40], RGBColor(150, 50, 50))          // blended interior
        XCTAssertEqual(out[30, 40], RGBColor(255, 255, 255))        // outline (contrasting, dark colour -> white)
        XCTAssertEqual(out[5, 40], RGBColor(100, 100, 100))         // untouched background
        XCTAssertEqual(out[10, 10], RGBColor(0, 200, 0))            // positive point
        XCTAssertEqual(out[110, 70], RGBColor(220, 0, 0))           // negative point
        XCTAssertEqual(out[10 + 4, 10], RGBColor(255, 255, 255))    // white ring (radius 3, ring 1)
        XCTAssertEqual(out[25, 40], RGBColor(0, 120, 255))          // box edge
        XCTAssertEqual(out.size, image.size)
    }

    func testRejectsWrongMaskSizeAndBadAlpha() throws {
        let (image, mask) = try sample()
        XCTAssertThrowsError(try Overlay.render(on: image, masks: [Array(mask.dropLast())]))
        XCTAssertThrowsError(try Overlay.render(on: image, masks: [mask], alpha: 1.5))
        XCTAssertThrowsError(try Overlay.render(on: image, masks: [mask], colors: []))
    }

    func testOffImageAndNonFinitePromptsAreClipped() throws {
        let (image, _) = try sample()
        let out = try Overlay.render(on: image, masks: [], points: [OverlayPoint(x: -50, y: 1e12, label: 1),
                                     OverlayPoint(x: .nan, y: 3, label: 0)],
                                     boxes: [OverlayBox(x0: -10, y0: -10, x1: 500, y1: 500), OverlayBox(x0: .infinity, y0: 0, x1: 1, y1: 1)])
        XCTAssertEqual(out[60, 40], RGBColor(100, 100, 100))
    }

    func testMarkersScaleWithImageSize() throws {
        let big = try RGBImage(width: 2000, height: 1500, filledWith: RGBColor(0, 0, 0))
        let out = try Overlay.render(on: big, masks: [], points: [OverlayPoint(x: 1000, y: 750, label: 1)])
        XCTAssertEqual(out[1000 + 15, 750], RGBColor(0, 200, 0))    // radius 22.5 at 1500 px, ring 7.5
        XCTAssertEqual(out[1000 + 26, 750], RGBColor(255, 255, 255))
    }

    func testMaskPNGIsZeroOr255() throws {
        let (_, mask) = try sample()
        let gray = try GrayImage(width: 120, height: 80, mask: mask)
        XCTAssertEqual(Set(gray.pixels), [0, 255])
        XCTAssertEqual(gray.pixels.filter { $0 == 255 }.count, 40 * 60)
    }

    /// Set SAMQ_OVERLAY_OUT=/some/dir to write an example overlay for a person to look at.
    func testWritesExampleOverlayWhenAsked() throws {
        guard let dir = ProcessInfo.processInfo.environment["SAMQ_OVERLAY_OUT"] else { throw XCTSkip("SAMQ_OVERLAY_OUT not set") }
        let image = try RGBImage(contentsOf: Fixtures.path("resize/src_640x480.png"))
        var disc = [Bool](repeating: false, count: 640 * 480), rect = disc
        for y in 0..<480 { for x in 0..<640 {
            if (x - 192) * (x - 192) + (y - 288) * (y - 288) < 96 * 96 { disc[y * 640 + x] = true }
            if x >= 352, x < 576, y >= 48, y < 168 { rect[y * 640 + x] = true }
        } }
        let out = try Overlay.render(on: image, masks: [disc, rect], alpha: 0.45,
                                     points: [OverlayPoint(x: 192, y: 288, label: 1), OverlayPoint(x: 400, y: 400, label: 0)],
                                     boxes: [OverlayBox(x0: 340, y0: 40, x1: 590, y1: 180)])
        try out.writePNG(to: dir + "/overlay.png")
        try GrayImage(width: 640, height: 480, mask: disc).writePNG(to: dir + "/mask_0.png")
    }
}
