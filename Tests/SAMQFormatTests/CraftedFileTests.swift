import Foundation
import XCTest
@testable import SAMQFormat

/// Files whose index checksum is valid but whose table lies: the structural
/// checks behind the checksum must still catch every fault, by name.
final class CraftedFileTests: XCTestCase {
    /// Rewrites one table entry and re-seals the index checksum.
    /// The edited entry is the first matrix whose two dims differ (edits keep the rank, so the table keeps its size).
    func craft(_ name: String, edit: (inout TensorEntry) -> Void) throws -> String {
        let source = try makeFile(codec: .zstd, name: "craft-source.samq").0
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: source)))
        var header = try bytes.withUnsafeBytes { try SAMQHeader.decode($0, fileSize: bytes.count) }
        let tableRange = header.tableOffset..<header.tableOffset + header.tableLength
        var entries = try bytes[tableRange].withUnsafeBytes { try TensorTable.decode($0, count: header.tensorCount) }
        let victim = try XCTUnwrap(entries.firstIndex { $0.shape.count == 2 && $0.shape[0] != $0.shape[1] })
        edit(&entries[victim])
        let table = TensorTable.encode(entries)
        bytes.replaceSubrange(tableRange, with: table)
        let metadata = Array(bytes[header.metadataOffset..<header.metadataOffset + header.metadataLength])
        header.indexChecksum = SAMQFile.indexChecksum(headerPrefix: header.encodedPrefix(), metadata: metadata, table: table)
        bytes.replaceSubrange(0..<SAMQHeader.size, with: header.encoded())
        let path = temporaryPath(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func assertRejected(_ path: String, mentioning text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SAMQFile(path: path), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(text), "\(error)", file: file, line: line)
        }
    }

    func testOffsetPastTheEndOfTheFile() throws {
        assertRejected(try craft("offset.samq") { $0.offset += 1 << 40 }, mentioning: "past the end of the file")
    }

    func testOffsetInsideTheIndex() throws {
        assertRejected(try craft("index-overlap.samq") { $0.offset = 64 }, mentioning: "overlaps the index")
    }

    func testOverlappingTensors() throws {
        let path = try craft("overlap.samq") { $0.offset -= 64 }
        assertRejected(path, mentioning: "overlaps")
    }

    func testDimensionsWhoseProductOverflows() throws {
        assertRejected(try craft("overflow.samq") { $0.shape = [1 << 33, 1 << 33] }, mentioning: "invalid shape")
    }

    func testShapeThatDisagreesWithTheConfig() throws {
        let path = try craft("shape.samq") { entry in entry.shape.reverse() }
        XCTAssertThrowsError(try SAMQFile(path: path)) { error in
            guard case .shapeMismatch = error as? SAMQFormatError else { return XCTFail("\(error)") }
        }
    }

    func testRawSizeThatDisagreesWithTheShape() throws {
        assertRejected(try craft("rawsize.samq") { $0.rawSize += 4 }, mentioning: "does not match its shape")
    }

    func testMisalignedData() throws {
        assertRejected(try craft("align.samq") { $0.offset += 1 }, mentioning: "aligned")
    }

    func testPlainInt8IsRefused() throws {
        assertRejected(try craft("plain-i8.samq") { $0.dtype = .i8 }, mentioning: "plain i8")
    }

    func testCommittedSeedFilesStillOpen() throws {
        let seeds = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/samq")
        let files = try FileManager.default.contentsOfDirectory(atPath: seeds.path).filter { $0.hasSuffix(".samq") }
        XCTAssertGreaterThanOrEqual(files.count, 2)
        for name in files {
            let file = try SAMQFile(path: seeds.appendingPathComponent(name).path)
            XCTAssertEqual(try file.verifyAll(), file.entries.count, name)
        }
    }
}
