import Foundation
import XCTest
import SAMQConverter
import SAMQFormat
@testable import SAMQRuntime

/// `SAMQFileWeights.halfPrecisionBits` and `SAMQFile.floats` read f16 and f32
/// tensors straight into their result arrays; they must return exactly what
/// the per-element decode of the verified raw bytes returns, for both codecs,
/// and still refuse a tensor whose bytes fail its checksum.
final class FileWeightsFastPathTests: XCTestCase {
    private func convert(codec: TensorCodec) throws -> String {
        let config = ModelConfig.tinySAM(imgSize: 32, embedDim: 16, depth: 2, mlpDim: 32, windowSize: 2,
                                         globalAttnIndexes: [1])
        var options = ConversionOptions()
        options.codec = codec
        return try RandomSAMFile.convert(config: config, seed: 11, options: options, name: "fastpath-\(codec)")
    }

    func testDirectReadsEqualThePerElementDecode() throws {
        for codec in [TensorCodec.raw, .zstd] {
            let path = try convert(codec: codec)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let weights = try SAMQFileWeights(path: path)
            let file = weights.file
            var halves = 0, singles = 0
            for entry in file.entries where entry.layout == .plain {
                let raw = try file.rawBytes(of: entry.name)
                let expected = try raw.withUnsafeBytes { try TensorDecoding.floats(entry: entry, raw: $0) }
                XCTAssertEqual(try file.floats(entry.name).map(\.bitPattern), expected.map(\.bitPattern), entry.name)
                if entry.dtype == .f16 {
                    let bits = raw.withUnsafeBytes { $0.bindMemory(to: UInt16.self).map { UInt16(littleEndian: $0) } }
                    XCTAssertEqual(try weights.halfPrecisionBits(entry.name), bits, entry.name)
                    halves += 1
                } else {
                    XCTAssertNil(try weights.halfPrecisionBits(entry.name), entry.name)
                    singles += 1
                }
            }
            XCTAssertGreaterThan(halves, 0, "the int8 converter stores the decoder in f16 (\(codec))")
            XCTAssertGreaterThan(singles, 0)
        }
    }

    func testDirectReadsStillVerifyChecksums() throws {
        for codec in [TensorCodec.raw, .zstd] {
            let path = try convert(codec: codec)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let clean = try SAMQFile(path: path)
            var bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
            for dtype in [StoredDType.f16, .f32] {
                let entry = try XCTUnwrap(clean.entries.first { $0.layout == .plain && $0.dtype == dtype && $0.storedSize > 16 })
                bytes[entry.offset + entry.storedSize - 1] ^= 0x5A
            }
            let damaged = path + ".damaged"
            try bytes.write(to: URL(fileURLWithPath: damaged))
            defer { try? FileManager.default.removeItem(atPath: damaged) }
            let weights = try SAMQFileWeights(path: damaged)
            for dtype in [StoredDType.f16, .f32] {
                let entry = try XCTUnwrap(clean.entries.first { $0.layout == .plain && $0.dtype == dtype && $0.storedSize > 16 })
                XCTAssertThrowsError(try weights.file.floats(entry.name), "\(entry.name) (\(codec))")
                if dtype == .f16 {
                    XCTAssertThrowsError(try weights.halfPrecisionBits(entry.name), "\(entry.name) (\(codec))")
                }
            }
        }
    }
}
