import XCTest
@testable import SAMQImage

/// PNGs written by `PNGBandEncoder` decode (through libpng) to exactly the
/// pixels given, whatever the filter, strategy, size or band order.
final class PNGBandEncoderTests: XCTestCase {
    private static let compressions: [PNGCompression] = [.photo, .mask]
        + [PNGCompression.RowFilter.none, .sub, .up, .paeth].flatMap { filter in
            [PNGCompression.Strategy.matching, .runLength, .huffmanOnly].map { PNGCompression(filter: filter, strategy: $0) }
        }

    /// Odd sizes, one pixel, one row, one column, and images of several bands
    /// (a band holds `bandBytes` of rows, at least one).
    private static let sizes = [(1, 1), (1, 9), (9, 1), (7, 5), (33, 17), (1000, 300), (200_000, 3), (3, 100_000)]

    private func pattern(_ count: Int, seed: Int) -> [UInt8] {
        // Runs, gradients and noise, so every filter and strategy has work.
        (0..<count).map { i in
            switch (i / 97 + seed) % 3 {
            case 0: return UInt8(truncatingIfNeeded: i / 13)
            case 1: return UInt8(truncatingIfNeeded: (i &* 2_654_435_761) >> 13)
            default: return 200
            }
        }
    }

    func testRGBRoundTripsForEveryFilterAndStrategy() throws {
        for (width, height) in Self.sizes {
            let image = try RGBImage(width: width, height: height, pixels: pattern(width * height * 3, seed: width))
            for compression in Self.compressions where width * height < 50_000 || compression == .photo {
                let bytes = try PNGEncoder.encode(image, compression: compression)
                XCTAssertEqual(try RGBImage(decoding: bytes), image, "\(width)×\(height) \(compression)")
            }
        }
    }

    func testGrayRoundTripsForEveryFilterAndStrategy() throws {
        for (width, height) in Self.sizes {
            let pixels = pattern(width * height, seed: height)
            let image = try GrayImage(width: width, height: height, pixels: pixels)
            for compression in Self.compressions where width * height < 50_000 || compression == .mask {
                let decoded = try RGBImage(decoding: try PNGEncoder.encode(image, compression: compression))
                XCTAssertEqual(decoded.size, ImageSize(width: width, height: height))
                XCTAssertEqual(stride(from: 0, to: decoded.pixels.count, by: 3).map { decoded.pixels[$0] }, pixels,
                               "\(width)×\(height) \(compression)")
            }
        }
    }

    func testBandsCanBeCompressedInAnyOrder() throws {
        let image = try RGBImage(width: 1000, height: 300, pixels: pattern(1000 * 300 * 3, seed: 1))
        let encoder = try PNGBandEncoder(image)
        XCTAssertEqual(encoder.rowsPerBand, PNGBandEncoder.bandBytes / 3001)
        XCTAssertGreaterThan(encoder.bandCount, 3)
        var bands = [PNGBandEncoder.Band?](repeating: nil, count: encoder.bandCount)
        for index in (0..<encoder.bandCount).reversed() { bands[index] = try encoder.band(index) }
        let file = encoder.file(bands.map { $0! })
        XCTAssertEqual(file, try PNGEncoder.encode(image))
        XCTAssertEqual(try RGBImage(decoding: file), image)
    }

    /// The chunks a reader sees: IHDR (8-bit RGB or gray), sRGB as libpng's
    /// simplified writer recorded it, one IDAT per band, IEND.
    func testChunkLayout() throws {
        let gray = try GrayImage(width: 5000, height: 120, pixels: pattern(5000 * 120, seed: 2))
        let encoder = try PNGBandEncoder(gray)
        let file = try PNGEncoder.encode(gray)
        XCTAssertEqual(Array(file.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var chunks: [(String, [UInt8])] = []
        var offset = 8
        while offset < file.count {
            let length = file[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: file[(offset + 4)..<(offset + 8)], as: UTF8.self)
            chunks.append((type, Array(file[(offset + 8)..<(offset + 8 + length)])))
            offset += 12 + length
        }
        XCTAssertEqual(offset, file.count)
        XCTAssertEqual(chunks.map(\.0), ["IHDR", "sRGB"] + Array(repeating: "IDAT", count: encoder.bandCount) + ["IEND"])
        XCTAssertEqual(chunks[0].1, [0, 0, 0x13, 0x88, 0, 0, 0, 120, 8, 0, 0, 0, 0])
        XCTAssertEqual(chunks[1].1, [0])
    }

    func testPaethPredictorMatchesTheSpecification() {
        func reference(_ a: Int, _ b: Int, _ c: Int) -> Int {
            let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
            if pa <= pb && pa <= pc { return a }
            return pb <= pc ? b : c
        }
        let values = [0, 1, 2, 127, 128, 129, 200, 254, 255]
        for a in values { for b in values { for c in values {
            XCTAssertEqual(Int(PNGRowFilter.paeth(UInt8(a), UInt8(b), UInt8(c))), reference(a, b, c), "\(a) \(b) \(c)")
        } } }
        var state: UInt32 = 1
        for _ in 0..<100_000 {
            state = state &* 1_664_525 &+ 1_013_904_223
            let a = Int(state >> 24), b = Int((state >> 16) & 255), c = Int((state >> 8) & 255)
            XCTAssertEqual(Int(PNGRowFilter.paeth(UInt8(a), UInt8(b), UInt8(c))), reference(a, b, c))
        }
    }
}
