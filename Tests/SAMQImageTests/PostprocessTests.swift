import XCTest
@testable import SAMQImage

final class PostprocessTests: XCTestCase {
    /// Sam.postprocess_masks against torch F.interpolate outputs.
    func testPostprocessMatchesTorch() throws {
        for line in try Fixtures.manifest("post/manifest.txt") {
            let tag = line[0]
            let n = line[1...].map { Int($0)! }
            let (channels, low, padded, rh, rw, oh, ow) = (n[0], n[1], n[2], n[3], n[4], n[5], n[6])
            let logits = try Fixtures.floats("post/logits_\(tag).f32")
            let expected = try Fixtures.floats("post/masks_\(tag).f32")
            let result = try MaskPostprocessing.postprocessMasks(
                logits, channels: channels, height: low, width: low, paddedSize: padded,
                resizedSize: ImageSize(width: rw, height: rh), originalSize: ImageSize(width: ow, height: oh))
            XCTAssertEqual(result.count, expected.count)
            var worst: Float = 0, exact = 0, sameMask = 0
            for (a, b) in zip(result, expected) {
                worst = max(worst, abs(a - b))
                if a == b { exact += 1 }
                if (a > 0) == (b > 0) { sameMask += 1 }
            }
            let maskPercent = 100 * Double(sameMask) / Double(expected.count)
            print("postprocess parity \(tag): masks \(String(format: "%.4f", maskPercent))% equal, floats bit-equal \(exact)/\(expected.count), max |diff| \(worst)")
            XCTAssertLessThanOrEqual(worst, 1e-5, tag)
            XCTAssertGreaterThanOrEqual(maskPercent, 99.99, tag)
        }
    }

    /// The row-streamed thresholded masks equal thresholding the full
    /// postprocessed logits, bit for bit: up- and downscaled originals, odd
    /// sizes, identity sizes, several channels.
    func testThresholdedMasksMatchPostprocessThenThreshold() throws {
        var state: UInt32 = 7
        let low = 16, padded = 64
        let logits = (0..<(3 * low * low)).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(Int32(bitPattern: state) >> 8) / Float(1 << 23)
        }
        let cases: [(ImageSize, ImageSize)] = [
            (ImageSize(width: 64, height: 48), ImageSize(width: 640, height: 480)),   // upscale
            (ImageSize(width: 64, height: 48), ImageSize(width: 21, height: 16)),     // downscale
            (ImageSize(width: 37, height: 64), ImageSize(width: 37, height: 64)),     // identity second pass
            (ImageSize(width: 64, height: 5), ImageSize(width: 131, height: 7)),
        ]
        for (resized, original) in cases {
            let logitsFull = try MaskPostprocessing.postprocessMasks(logits, channels: 3, height: low, width: low,
                                                                     paddedSize: padded, resizedSize: resized,
                                                                     originalSize: original)
            let masks = try MaskPostprocessing.thresholdedMasks(logits, channels: 3, height: low, width: low,
                                                                paddedSize: padded, resizedSize: resized,
                                                                originalSize: original, threshold: 0.1)
            XCTAssertEqual(masks, logitsFull.map { $0 > 0.1 ? 1 : 0 }, "\(resized) -> \(original)")
        }
        // Non-finite logits, and passes that are the identity (low-res == padded, crop == original): the same bytes.
        var special = logits
        special[5] = .infinity; special[40] = -.infinity; special[77] = .nan; special[300] = .nan
        let specialCases: [(Int, Int, ImageSize, ImageSize)] = [
            (low, padded, ImageSize(width: 64, height: 40), ImageSize(width: 50, height: 31)),
            (low, low, ImageSize(width: 16, height: 11), ImageSize(width: 30, height: 21)),
            (padded, padded, ImageSize(width: 64, height: 48), ImageSize(width: 64, height: 48)),
        ]
        for (size, paddedSize, resized, original) in specialCases {
            let input = (0..<(3 * size * size)).map { special[$0 % special.count] }
            let logitsFull = try MaskPostprocessing.postprocessMasks(input, channels: 3, height: size, width: size,
                                                                     paddedSize: paddedSize, resizedSize: resized,
                                                                     originalSize: original)
            let masks = try MaskPostprocessing.thresholdedMasks(input, channels: 3, height: size, width: size,
                                                                paddedSize: paddedSize, resizedSize: resized,
                                                                originalSize: original, threshold: 0)
            XCTAssertEqual(masks, logitsFull.map { $0 > 0 ? 1 : 0 }, "\(size) -> \(paddedSize): \(resized) -> \(original)")
        }
        XCTAssertThrowsError(try MaskPostprocessing.thresholdedMasks(logits, channels: 3, height: low, width: low,
            paddedSize: padded, resizedSize: ImageSize(width: 65, height: 8), originalSize: ImageSize(width: 9, height: 8),
            threshold: 0))
        XCTAssertThrowsError(try MaskPostprocessing.thresholdedMasks(Array(logits.dropLast()), channels: 3, height: low,
            width: low, paddedSize: padded, resizedSize: ImageSize(width: 64, height: 8),
            originalSize: ImageSize(width: 9, height: 8), threshold: 0))
    }

    func testIdentityInterpolationCopies() throws {
        let input: [Float] = [1, 2, 3, 4, 5, 6]
        XCTAssertEqual(try MaskPostprocessing.resizeBilinear(input, channels: 1, height: 2, width: 3, outHeight: 2, outWidth: 3), input)
    }

    func testRejectsBadShapes() {
        XCTAssertThrowsError(try MaskPostprocessing.resizeBilinear([1, 2, 3], channels: 1, height: 2, width: 2, outHeight: 4, outWidth: 4))
        XCTAssertThrowsError(try MaskPostprocessing.resizeBilinear([1, 2, 3, 4], channels: 1, height: 2, width: 2, cropHeight: 3, outHeight: 4, outWidth: 4))
        XCTAssertThrowsError(try MaskPostprocessing.postprocessMasks([Float](repeating: 0, count: 16), channels: 1, height: 4, width: 4,
            paddedSize: 8, resizedSize: ImageSize(width: 9, height: 8), originalSize: ImageSize(width: 9, height: 8)))
    }

    func testThreshold() {
        XCTAssertEqual(MaskPostprocessing.threshold([-1, 0, 0.5]), [false, false, true])
    }
}
