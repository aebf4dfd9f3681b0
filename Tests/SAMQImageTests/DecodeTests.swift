import XCTest
@testable import SAMQImage

final class DecodeTests: XCTestCase {
    /// Every decode fixture equals Pillow's `Image.open(p).convert("RGB")` byte for byte.
    func testMatchesPillowConvertRGB() throws {
        for line in try Fixtures.manifest("decode/manifest.txt") {
            let name = line[0]
            if name.hasSuffix(".jpg") && !ImageDecoder.supportsJPEG { continue }
            let image = try RGBImage(contentsOf: Fixtures.path("decode/" + name))
            XCTAssertEqual(image.width, Int(line[1]), name)
            XCTAssertEqual(image.height, Int(line[2]), name)
            let stem = name.split(separator: ".")[0]
            let expected = try Fixtures.bytes("decode/\(stem).rgb")
            let same = zip(image.pixels, expected).filter { $0 == $1 }.count
            XCTAssertEqual(image.pixels.count, expected.count, name)
            XCTAssertEqual(same, expected.count, "\(name): \(expected.count - same) of \(expected.count) samples differ from Pillow")
        }
    }

    /// Translucent 16-bit alpha: libpng premultiplies 16-bit output, so colours are
    /// recovered by division; documented as within 1 of Pillow, 0 where alpha is 0.
    func testTranslucent16BitAlphaIsWithinOne() throws {
        for line in try Fixtures.manifest("decode/approx_manifest.txt") {
            let image = try RGBImage(contentsOf: Fixtures.path("decode/" + line[0]))
            let expected = try Fixtures.bytes("decode/\(line[0].split(separator: ".")[0]).rgb")
            XCTAssertEqual(image.pixels.count, expected.count)
            var same = 0, worst = 0
            for (i, (a, b)) in zip(image.pixels, expected).enumerated() where i / 3 != 1 { // pixel 1 has alpha 0
                let d = abs(Int(a) - Int(b))
                worst = max(worst, d)
                if d == 0 { same += 1 }
            }
            print("16-bit translucent parity: \(same)/\(expected.count - 3) samples identical, max diff \(worst)")
            XCTAssertLessThanOrEqual(worst, 1)
        }
    }

    func testDecodeFromBytesSniffsFormat() throws {
        let bytes = try Fixtures.bytes("decode/rgb8.png")
        XCTAssertEqual(try ImageFormat.sniff(bytes), .png)
        XCTAssertEqual(try RGBImage(decoding: bytes).size, ImageSize(width: 23, height: 17))
        XCTAssertEqual(try ImageFormat.sniff(try Fixtures.bytes("decode/jpeg420.jpg")), .jpeg)
    }

    func testJPEGIsAvailableOrReportedClearly() throws {
        let bytes = try Fixtures.bytes("decode/jpeg444.jpg")
        if ImageDecoder.supportsJPEG {
            XCTAssertEqual(try RGBImage(decoding: bytes).size, ImageSize(width: 61, height: 37))
        } else {
            XCTAssertThrowsError(try RGBImage(decoding: bytes)) { error in
                guard case ImageError.unsupported = error else { return XCTFail("\(error)") }
            }
        }
    }

    private func assertFails(_ file: String, maxPixels: Int = 100_000_000,
                             line: UInt = #line, _ check: (ImageError) -> Bool) {
        XCTAssertThrowsError(try RGBImage(contentsOf: Fixtures.path(file), maxPixels: maxPixels), file, line: line) { error in
            guard let imageError = error as? ImageError else { return XCTFail("\(file): \(error)", line: line) }
            XCTAssertTrue(check(imageError), "\(file): unexpected error \(imageError)", line: line)
            XCTAssertFalse(imageError.description.isEmpty, line: line)
        }
    }

    func testCorruptAndTruncatedPNG() {
        assertFails("bad/truncated.png") { if case .corrupt(format: "PNG", _) = $0 { return true }; return false }
        assertFails("bad/corrupt_idat.png") { if case .corrupt(format: "PNG", _) = $0 { return true }; return false }
        assertFails("bad/signature_only.png") { if case .corrupt(format: "PNG", _) = $0 { return true }; return false }
        assertFails("bad/zero_width.png") { $0 == .invalidDimensions(width: 0, height: 10) }
    }

    func testCorruptAndTruncatedJPEG() throws {
        try XCTSkipUnless(ImageDecoder.supportsJPEG, "built without TurboJPEG")
        assertFails("bad/truncated.jpg") { if case .corrupt(format: "JPEG", _) = $0 { return true }; return false }
        assertFails("bad/header_only.jpg") { if case .unknownFormat = $0 { return true }; return false }
        assertFails("bad/corrupt.jpg") { if case .corrupt(format: "JPEG", _) = $0 { return true }; return false }
    }

    /// The files hold only a header claiming 20000 x 20000: the limit must fire
    /// before any decoding (decoding them would fail differently).
    func testPixelLimitIsCheckedFromTheHeader() {
        assertFails("bad/huge_header.png") { $0 == .tooManyPixels(width: 20000, height: 20000, limit: 100_000_000) }
        assertFails("bad/huge_header.jpg") { $0 == .tooManyPixels(width: 20000, height: 20000, limit: 100_000_000) }
        assertFails("decode/rgb8.png", maxPixels: 23 * 17 - 1) { $0 == .tooManyPixels(width: 23, height: 17, limit: 390) }
        XCTAssertNoThrow(try RGBImage(contentsOf: Fixtures.path("decode/rgb8.png"), maxPixels: 23 * 17))
    }

    func testUnknownEmptyAndMissingFiles() {
        assertFails("bad/not_an_image.bin") { if case .unknownFormat = $0 { return true }; return false }
        assertFails("bad/empty.png") { if case .cannotRead = $0 { return true }; return false }
        assertFails("bad/does-not-exist.png") { if case .cannotRead = $0 { return true }; return false }
        XCTAssertThrowsError(try RGBImage(decoding: [])) { XCTAssertEqual($0 as? ImageError, .empty) }
        XCTAssertThrowsError(try RGBImage(decoding: [0x89, 0x50, 0x4E])) { error in
            guard case ImageError.corrupt = error else { return XCTFail("\(error)") }
        }
    }

    /// The format is checked on the first 64 KB, before the rest is read: a
    /// large file that is no image is refused without reading (and holding)
    /// all of it. The inspection sees only the prefix and its error stops the read.
    func testFileIsInspectedBeforeItIsReadWhole() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("samq-prefix-\(getpid()).bin").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(count: 8 << 20)))
        var seen: [Int] = []
        XCTAssertThrowsError(try FileIO.readAll(path: path) { prefix in
            seen.append(prefix.count)
            throw ImageError.unknownFormat(firstBytes: Array(prefix.prefix(8)))
        })
        XCTAssertEqual(seen.count, 1)
        XCTAssertLessThan(seen[0], 1 << 20)
        XCTAssertGreaterThanOrEqual(seen[0], 1 << 16)
        XCTAssertThrowsError(try RGBImage(contentsOf: path)) { error in
            guard case ImageError.unknownFormat = error else { return XCTFail("\(error)") }
        }
        // A file shorter than the prefix is inspected once, whole.
        seen = []
        XCTAssertEqual(try FileIO.readAll(path: Fixtures.path("decode/rgb8.png")) { seen.append($0.count) }.count, seen.first)
        XCTAssertEqual(seen.count, 1)
    }

    func testRandomGarbageAfterSignatureNeverCrashes() throws {
        var generator = SystemRandomNumberGenerator()
        let good = try Fixtures.bytes("decode/rgb8.png")
        for trial in 0..<200 {
            var bytes = good
            let flips = Int.random(in: 1...8, using: &generator)
            for _ in 0..<flips {
                let i = Int.random(in: 8..<bytes.count, using: &generator)
                bytes[i] = UInt8.random(in: 0...255, using: &generator)
            }
            if trial % 3 == 0 { bytes = Array(bytes.prefix(Int.random(in: 8..<bytes.count, using: &generator))) }
            _ = try? RGBImage(decoding: bytes, maxPixels: 1 << 20)
        }
    }

    func testImageInitializerValidates() {
        XCTAssertThrowsError(try RGBImage(width: 0, height: 3, pixels: []))
        XCTAssertThrowsError(try RGBImage(width: 2, height: 2, pixels: [1, 2, 3]))
        XCTAssertThrowsError(try GrayImage(width: 2, height: 2, pixels: [1]))
        XCTAssertNoThrow(try RGBImage(width: 1, height: 1, pixels: [1, 2, 3]))
    }
}
