import XCTest
import SAMQFormat
#if canImport(Glibc)
import Glibc
#endif
@testable import SAMQImage

final class EncodeTests: XCTestCase {
    func testRGBRoundTrip() throws {
        let source = try RGBImage(contentsOf: Fixtures.path("decode/rgb8.png"))
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try source.writePNG(to: dir + "/out.png")
        XCTAssertEqual(try RGBImage(contentsOf: dir + "/out.png"), source)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["out.png"])
    }

    func testGrayMaskRoundTrip() throws {
        let mask = (0..<(7 * 5)).map { $0 % 3 == 0 }
        let gray = try GrayImage(width: 7, height: 5, mask: mask)
        let bytes = try PNGEncoder.encode(gray)
        let decoded = try RGBImage(decoding: bytes)
        XCTAssertEqual(decoded.size, ImageSize(width: 7, height: 5))
        for i in 0..<mask.count {
            XCTAssertEqual(decoded.pixels[i * 3], mask[i] ? 255 : 0)
            XCTAssertEqual(decoded.pixels[i * 3 + 2], mask[i] ? 255 : 0)
        }
    }

    func testWriteIntoMissingDirectoryFailsClearly() throws {
        let image = try RGBImage(width: 2, height: 2, filledWith: RGBColor(1, 2, 3))
        XCTAssertThrowsError(try image.writePNG(to: "/nonexistent-dir-samq/x.png")) { error in
            guard case FileWriteError.cannotWrite = error else { return XCTFail("\(error)") }
        }
    }
}
