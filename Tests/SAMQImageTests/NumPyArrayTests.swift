// .npy tests live here by request; they need the SAMQFormat module, which the
// test target gets once Package.swift lists it as a dependency of SAMQImageTests
// (CZstd is checked too: SAMQFormat is importable only with its C dependency visible).
#if canImport(SAMQFormat) && canImport(CZstd)
import XCTest
@testable import SAMQFormat

final class NumPyArrayTests: XCTestCase {
    func testReadsFilesWrittenByNumPy() throws {
        let a = try NumPyArray.read(path: Fixtures.path("npy/f4_2x3.npy"))
        XCTAssertEqual(a.shape, [2, 3])
        XCTAssertEqual(a.values, [0, 0.25, 0.5, 0.75, 1, 1.25])
        XCTAssertEqual(try NumPyArray.read(path: Fixtures.path("npy/f4_scalar.npy")), try NumPyArray(shape: [], values: [3.5]))
        XCTAssertEqual(try NumPyArray.read(path: Fixtures.path("npy/f4_vec5.npy")), try NumPyArray(shape: [5], values: [0, 1, 2, 3, 4]))
        XCTAssertEqual(try NumPyArray.read(path: Fixtures.path("npy/f4_empty_0x3.npy")), try NumPyArray(shape: [0, 3], values: []))
        XCTAssertEqual(try NumPyArray.read(path: Fixtures.path("npy/f8_2x2.npy")).values, [1.5, -2.25, Float(1e-3), 7])
        XCTAssertEqual(try NumPyArray.read(path: Fixtures.path("npy/u1_4.npy")).values, [0, 1, 128, 255])
        XCTAssertEqual(try NumPyArray.read(path: Fixtures.path("npy/b1_3.npy")).values, [1, 0, 1])
        XCTAssertEqual(try NumPyArray.read(path: Fixtures.path("npy/f4_big_endian.npy")).values, [0, 1, 2])
        for version in [2, 3] {
            let v = try NumPyArray.read(path: Fixtures.path("npy/f4_v\(version).npy"))
            XCTAssertEqual(v, try NumPyArray(shape: [2, 2], values: [0, 1, 2, 3]))
        }
        let bytes = try NumPyArray.readUInt8(path: Fixtures.path("npy/u1_4.npy"))
        XCTAssertEqual(bytes.shape, [4])
        XCTAssertEqual(bytes.values, [0, 1, 128, 255])
        XCTAssertThrowsError(try NumPyArray.readUInt8(path: Fixtures.path("npy/f4_vec5.npy")))
    }

    func testRoundTripAndHeaderLayout() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for shape in [[], [1], [7], [2, 3], [1, 4, 2, 2], [0]] {
            let count = shape.reduce(1, *)
            let array = try NumPyArray(shape: shape, values: (0..<count).map { Float($0) * -0.5 + 0.125 })
            let path = dir + "/a.npy"
            try array.write(to: path)
            XCTAssertEqual(try NumPyArray.read(path: path), array)
            let encoded = try array.encoded()
            let headerLength = Int(encoded[8]) | Int(encoded[9]) << 8
            XCTAssertEqual((10 + headerLength) % 64, 0)
            XCTAssertEqual(encoded[10 + headerLength - 1], 0x0A)
        }
        let header = String(decoding: try NumPyArray(shape: [3], values: [1, 2, 3]).encoded()[10..<70], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["a.npy"])
    }

    func testRejectsUnsupportedFiles() {
        XCTAssertThrowsError(try NumPyArray.read(path: Fixtures.path("npy/f4_fortran.npy"))) {
            XCTAssertEqual($0 as? NumPyError, .fortranOrder(path: Fixtures.path("npy/f4_fortran.npy")))
        }
        XCTAssertThrowsError(try NumPyArray.read(path: Fixtures.path("npy/i4_3.npy"))) {
            XCTAssertEqual($0 as? NumPyError, .unsupportedDType(path: Fixtures.path("npy/i4_3.npy"), descr: "<i4"))
        }
        XCTAssertThrowsError(try NumPyArray.read(path: Fixtures.path("npy/missing.npy")))
        XCTAssertThrowsError(try NumPyArray(shape: [2, 2], values: [1]))
        XCTAssertThrowsError(try NumPyArray(shape: [-1], values: []))
    }

    private func header(_ dict: String, version: UInt8 = 1) -> [UInt8] {
        let text = Array(dict.utf8) + [0x0A]
        return [0x93] + Array("NUMPY".utf8) + [version, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text
    }

    private func assertMalformed(_ bytes: [UInt8], line: UInt = #line) {
        XCTAssertThrowsError(try NumPyArray.decode(bytes), line: line) { error in
            XCTAssertTrue(error is NumPyError, "\(error)", line: line)
            XCTAssertFalse("\(error)".isEmpty, line: line)
        }
    }

    /// The header is read and checked first; the data only up to the array's
    /// end, and only when it fits the caller's limit.
    func testReaderStopsAtTheHeaderOrTheArrayEnd() throws {
        let directory = FileManager.default.temporaryDirectory.path
        func write(_ name: String, _ bytes: [UInt8], paddedTo size: Int = 0) throws -> String {
            let path = directory + "/samq-npy-\(getpid())-\(name)"
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            if size > bytes.count { XCTAssertEqual(truncate(path, off_t(size)), 0) }
            return path
        }
        let array = try NumPyArray(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let encoded = try array.encoded()
        // Junk of 64 MB: refused from its first bytes.
        let junk = try write("junk.npy", [1, 2, 3], paddedTo: 64 << 20)
        XCTAssertThrowsError(try NumPyArray.read(path: junk)) { XCTAssertEqual($0 as? NumPyError, .notNumPy(path: junk)) }
        // A valid array followed by 64 MB the format ignores: the reader stops at the array's end.
        let trailing = try write("trailing.npy", encoded, paddedTo: 64 << 20)
        XCTAssertEqual(try NumPyIO.readAll(path: trailing).count, encoded.count)
        XCTAssertEqual(try NumPyArray.read(path: trailing), array)
        // An array over the limit is refused before its data is read.
        XCTAssertThrowsError(try NumPyArray.read(path: trailing, maxDataBytes: 23)) {
            XCTAssertEqual($0 as? NumPyError, .tooLarge(path: trailing, shape: [2, 3], bytes: 24, limit: 23))
        }
        XCTAssertEqual(try NumPyArray.read(path: trailing, maxDataBytes: 24), array)
        // A version 2.0 header longer than the 64 KB first read is still parsed.
        let dict = Array("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".utf8)
        let headerLength = ((12 + dict.count + 70_000 + 1 + 63) / 64) * 64 - 12
        var long: [UInt8] = [0x93] + Array("NUMPY".utf8) + [2, 0]
        long += withUnsafeBytes(of: UInt32(headerLength).littleEndian, Array.init)
        long += dict + [UInt8](repeating: 0x20, count: headerLength - dict.count - 1) + [0x0A]
        long += encoded.suffix(24)
        XCTAssertEqual(try NumPyArray.read(path: try write("long-header.npy", long)), array)
        // Truncated data is still an error that names the sizes.
        let short = try write("short.npy", Array(encoded.dropLast(4)))
        XCTAssertThrowsError(try NumPyArray.read(path: short)) {
            XCTAssertEqual($0 as? NumPyError, .dataSizeMismatch(path: short, expected: 24, available: 20))
        }
        for name in ["junk.npy", "trailing.npy", "long-header.npy", "short.npy"] {
            try? FileManager.default.removeItem(atPath: directory + "/samq-npy-\(getpid())-\(name)")
        }
    }

    func testMalformedFiles() throws {
        let good = header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }") + [0, 0, 128, 63, 0, 0, 0, 64]
        XCTAssertEqual(try NumPyArray.decode(good).values, [1, 2])
        assertMalformed([])
        assertMalformed(Array("NUMPY".utf8))
        assertMalformed(Array(good.prefix(9)))                                  // truncated length field
        assertMalformed(Array(good.prefix(30)))                                 // truncated header
        assertMalformed(Array(good.dropLast()))                                 // truncated data
        var badVersion = good; badVersion[6] = 9
        assertMalformed(badVersion)
        assertMalformed(header("{'descr': '<f4', 'fortran_order': False, }") + [0, 0, 0, 0])
        assertMalformed(header("{'descr': '<f4', 'shape': (1,), }") + [0, 0, 0, 0])
        assertMalformed(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ") + [0, 0, 0, 0])
        assertMalformed(header("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }") + [0, 0, 0, 0])
        assertMalformed(header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }") + [0, 0, 0, 0])
        assertMalformed(header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"))
        assertMalformed(header("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"))
        assertMalformed(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr': '<f4'}") + [0, 0, 0, 0])
        assertMalformed(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk") + [0, 0, 0, 0])
        assertMalformed(header("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }") + [0, 0])
        var huge = good; huge[8] = 0xFF; huge[9] = 0xFF
        assertMalformed(huge)
    }
}
#endif
