import XCTest
import Foundation
import SAMQConverter
import SAMQImage
@testable import SAMQRuntime

/// Stage 0 copies the rows and pixels that read only the zero padding
/// instead of computing them: the bands must be right, and the copies must
/// carry the bits the computation would have.
final class UniformBandTests: XCTestCase {
    func testBandsThroughTheStemBlocksAndMerge() {
        // vit_t, a 1024×768 image: 256 zero rows at the bottom of the input.
        let stem = ConvStem.uniformLines(zeroFrom: 768, size: 1024)
        // Row 193 of the stem output is the first whose two stride-2 convs read only zero rows.
        XCTAssertEqual(stem, UniformBand(lower: 193, upper: 256))
        let block1 = stem.throughConv3x3(stride: 1, inputLength: 256, outputLength: 256, paddingMatches: false)
        XCTAssertEqual(block1, UniformBand(lower: 194, upper: 255), "the last row reads the conv's padding")
        let block2 = block1.throughConv3x3(stride: 1, inputLength: 256, outputLength: 256, paddingMatches: false)
        let merged = block2.throughConv3x3(stride: 2, inputLength: 256, outputLength: 128, paddingMatches: false)
        XCTAssertEqual(merged, UniformBand(lower: 98, upper: 127))

        XCTAssertEqual(ConvStem.uniformLines(zeroFrom: 1024, size: 1024), .none, "a square image has no zero rows")
        XCTAssertEqual(ConvStem.uniformLines(zeroFrom: 1020, size: 1024), .none, "too few zero rows to reach the stem output")
        // An all-zero input: every row, edges included.
        XCTAssertEqual(ConvStem.uniformLines(zeroFrom: 0, size: 1024), UniformBand(lower: 1, upper: 256))
        XCTAssertEqual(UniformBand(lower: 5, upper: 6).throughConv3x3(stride: 1, inputLength: 9, outputLength: 9,
                                                                       paddingMatches: false), .none)
    }

    func testSplitComputesTheFirstRowAndCopiesTheRest() {
        let band = UniformBand(lower: 10, upper: 20)
        func parts(_ rows: Range<Int>) -> [Range<Int>] { let p = band.split(rows); return [p.before, p.copied, p.after] }
        XCTAssertEqual(parts(0..<5), [0..<5, 5..<5, 5..<5])
        XCTAssertEqual(parts(0..<30), [0..<11, 11..<20, 20..<30])
        XCTAssertEqual(parts(12..<15), [12..<12, 12..<15, 15..<15])
        XCTAssertEqual(parts(15..<25), [15..<15, 15..<20, 20..<25])
        XCTAssertEqual(parts(20..<25), [20..<20, 20..<20, 20..<25])
        XCTAssertEqual(parts(10..<11), [10..<11, 11..<11, 11..<11])
        XCTAssertEqual(UniformBand.none.split(3..<7).before, 3..<7)
    }

    /// Landscape images (rows copied), portrait ones (the right padding's
    /// pixels copied by the layers) and images short on both sides (both), of
    /// several shapes, int8 and f32, with one-row strips too: the same bits
    /// with and without the copies.
    func testCopiesHaveTheComputedBits() throws {
        guard let f = MobileSAMFixture("tiny_t") else { throw FixtureError("tiny_t fixtures not found") }
        let directory = try MobileSAMFixture.temporaryDirectory("repeated-rows")
        defer { try? FileManager.default.removeItem(at: directory) }
        for dtype in [ConversionOptions.WeightType.int8, .f32] {
            let weights = try SAMQFileWeights(path: try f.convert(dtype: dtype, into: directory))
            let copying = try ImageEncoderTinyViT(weights: weights)
            let computing = try ImageEncoderTinyViT(weights: weights)
            computing.copiesUniformRegions = false
            for (width, height, strip) in [(256, 192, 256), (256, 144, 1), (256, 2, 256), (256, 250, 256),
                                           (256, 256, 256), (144, 256, 256), (192, 256, 1), (2, 256, 256),
                                           (130, 256, 64), (250, 256, 256), (100, 60, 256), (90, 170, 1)] {
                let image = try Self.texture(width: width, height: height)
                copying.stripPixels = strip
                computing.stripPixels = strip
                XCTAssertEqual(Self.differingBits(try copying.encode(resizedImage: image),
                                                  try computing.encode(resizedImage: image)), 0,
                               "\(dtype) \(width)×\(height), strips of \(strip) pixels")
            }
            // The fixture's preprocessed tensor: zero rows from 189 on.
            let input = try f.file("input_tensor").values
            let (a, stagesA) = try copying.encodeStages(input)
            let (b, stagesB) = try computing.encodeStages(input)
            XCTAssertEqual(Self.differingBits(stagesA[0], stagesB[0]), 0, "\(dtype) stage 0 of the fixture tensor")
            XCTAssertEqual(Self.differingBits(a, b), 0, "\(dtype) fixture tensor")
        }
    }

    func testZeroRowsAndColumnsOfTheInput() throws {
        let image = try RGBImage(width: 4, height: 3, filledWith: RGBColor(0, 0, 0))
        XCTAssertEqual(StemInput.image(image, mean: [0, 0, 0], std: [1, 1, 1]).zeroRowsStart(size: 8, channels: 3), 3,
                       "rows below the image are padding, whatever its pixels")
        var values = [Float](repeating: 0, count: 3 * 4 * 4)
        values[1 * 16 + 2 * 4 + 3] = 1   // channel 1, row 2
        XCTAssertEqual(StemInput.tensor(values).zeroRowsStart(size: 4, channels: 3), 3)
        XCTAssertEqual(StemInput.tensor(values).zeroColumnsStart(size: 4, channels: 3), 4, "channel 1, column 3")
        values[2 * 16 + 3 * 4] = -0.0    // a negative zero is not padding
        XCTAssertEqual(StemInput.tensor(values).zeroRowsStart(size: 4, channels: 3), 4)
        XCTAssertEqual(StemInput.tensor([Float](repeating: 0, count: 48)).zeroRowsStart(size: 4, channels: 3), 0)
        XCTAssertEqual(StemInput.tensor([Float](repeating: 0, count: 48)).zeroColumnsStart(size: 4, channels: 3), 0)
        var left = [Float](repeating: 0, count: 48)
        left[0 * 16 + 3 * 4 + 1] = 2     // channel 0, row 3, column 1
        XCTAssertEqual(StemInput.tensor(left).zeroColumnsStart(size: 4, channels: 3), 2)
        XCTAssertEqual(StemInput.image(image, mean: [0, 0, 0], std: [1, 1, 1]).zeroColumnsStart(size: 8, channels: 3), 4)
    }

    /// How many values differ in their bits (all of them if the counts differ).
    static func differingBits(_ a: [Float], _ b: [Float]) -> Int {
        guard a.count == b.count else { return max(a.count, b.count) }
        return zip(a, b).reduce(0) { $0 + ($1.0.bitPattern == $1.1.bitPattern ? 0 : 1) }
    }

    /// A deterministic image with edges and gradients everywhere.
    static func texture(width: Int, height: Int) throws -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                pixels[i] = UInt8((x * 7 + y * 3) & 255)
                pixels[i + 1] = UInt8(((x / 16 + y / 16) & 1) * 200 + 20)
                pixels[i + 2] = UInt8((x * y / 7) & 255)
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }
}
