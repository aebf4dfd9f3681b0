import XCTest
import SAMQImage
@testable import SAMQRuntime

/// The generator's upscaler equals `MaskPostprocessing.postprocessMasks` (itself
/// bit-exact with torch) bit for bit.
final class EverythingUpscaleTests: XCTestCase {
    func testUpscalerMatchesPostprocessMasksBitForBit() throws {
        var generator = SystemRandomNumberGenerator()
        let cases: [(padded: Int, original: ImageSize)] = [
            (256, ImageSize(width: 168, height: 124)), (256, ImageSize(width: 320, height: 240)),
            (256, ImageSize(width: 100, height: 300)), (256, ImageSize(width: 256, height: 256)),
            (256, ImageSize(width: 57, height: 41)), (1024, ImageSize(width: 1500, height: 1000)),
        ]
        for (padded, original) in cases {
            let lowRes = padded / 4
            let resized = ResizeLongestSide(targetLength: padded).resizedSize(for: original)
            let upscaler = MaskUpscaler(lowResSize: lowRes, paddedSize: padded, resizedSize: resized, originalSize: original)
            for _ in 0..<1 {
                let plane = (0..<(lowRes * lowRes)).map { _ in Float.random(in: -20...20, using: &generator) }
                let expected = try MaskPostprocessing.postprocessMasks(plane, channels: 1, height: lowRes, width: lowRes,
                                                                       paddedSize: padded, resizedSize: resized,
                                                                       originalSize: original)
                let actual = plane.withUnsafeBufferPointer { upscaler.upscale($0) }
                XCTAssertEqual(actual.count, expected.count)
                let differing = zip(actual, expected).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "\(original): \(differing) values differ")
            }
        }
    }
}
