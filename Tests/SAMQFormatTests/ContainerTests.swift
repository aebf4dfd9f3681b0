import XCTest
@testable import SAMQFormat

/// Writes a tiny model with every tensor kind, then reads it back.
final class ContainerTests: XCTestCase {
    func testRoundTripIsBitExactForBothCodecs() throws {
        for codec in [TensorCodec.raw, .zstd] {
            let (path, values) = try makeFile(codec: codec, name: "roundtrip-\(codec).samq")
            let file = try SAMQFile(path: path)
            XCTAssertEqual(file.config, tinyConfig())
            XCTAssertEqual(file.entries.count, values.count)
            for entry in file.entries {
                XCTAssertEqual(entry.offset % codec.alignment, 0)
                XCTAssertEqual(try file.floats(entry.name), values[entry.name], entry.name)
            }
            XCTAssertEqual(try file.verifyAll(), values.count)
        }
    }

    func testOlderReaderRejectsNewerVersionClearly() throws {
        let (path, _) = try makeFile(codec: .zstd, name: "version.samq")
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[8] = 2
        let bad = temporaryPath("version-2.samq")
        try Data(bytes).write(to: URL(fileURLWithPath: bad))
        XCTAssertThrowsError(try SAMQFile(path: bad)) { error in
            XCTAssertEqual(error as? SAMQFormatError, .newerFormat(found: 2, supported: 1))
            XCTAssertTrue("\(error)".contains("upgrade samq"))
        }
    }

    /// Every truncation point must give an error, never a crash.
    func testEveryTruncationIsAnError() throws {
        let (path, _) = try makeFile(codec: .zstd, name: "truncate.samq")
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let cuts = Array(stride(from: 0, to: bytes.count, by: max(1, bytes.count / 200))) + [bytes.count - 1]
        for cut in cuts {
            let bad = temporaryPath("cut.samq")
            try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: bad))
            XCTAssertThrowsError(try { let f = try SAMQFile(path: bad); try f.verifyAll() }(), "cut at \(cut)")
        }
    }

    /// A flipped data byte is caught by the tensor checksum and named.
    func testFlippedDataByteIsAChecksumErrorNamingTheTensor() throws {
        let (path, _) = try makeFile(codec: .raw, name: "flip.samq")
        let file = try SAMQFile(path: path)
        let victim = file.entries[file.entries.count / 2]
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[victim.offset + 1] ^= 0x40
        let bad = temporaryPath("flipped.samq")
        try Data(bytes).write(to: URL(fileURLWithPath: bad))
        let damaged = try SAMQFile(path: bad)
        XCTAssertThrowsError(try damaged.floats(victim.name)) { error in
            guard case let .checksumMismatch(name, _, _) = error as? SAMQFormatError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, victim.name)
        }
    }

    /// A flipped byte in the index is caught before anything is trusted.
    func testFlippedIndexByteIsRejected() throws {
        let (path, _) = try makeFile(codec: .zstd, name: "index.samq")
        let original = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let header = try original.withUnsafeBytes { try SAMQHeader.decode($0, fileSize: original.count) }
        for position in [20, header.metadataOffset + 5, header.tableOffset + 3, header.tableOffset + header.tableLength - 9] {
            var bytes = original
            bytes[position] ^= 0x01
            let bad = temporaryPath("index-bad.samq")
            try Data(bytes).write(to: URL(fileURLWithPath: bad))
            XCTAssertThrowsError(try SAMQFile(path: bad), "byte \(position)")
        }
    }

    func testWriterRefusesOutOfOrderAndIncompleteAndLeavesNothing() throws {
        let schema = SAMSchema(config: tinyConfig())
        let plan = schema.tensors.map { TensorEntry(name: $0.name, dtype: .f32, layout: .plain, codec: .raw, shape: $0.shape) }
        let metadata = SAMQMetadata(model: tinyConfig(), provenance: .init(source: "t", sourceFormat: "t", converterVersion: "t", createdAt: "t"),
                                    quantization: .init(weights: "f32"))
        let path = temporaryPath("incomplete.samq")
        try? FileManager.default.removeItem(atPath: path)
        do {
            let writer = try SAMQWriter(path: path, metadata: metadata, plan: plan)
            XCTAssertThrowsError(try writer.append(name: plan[1].name, floats: [0]))
            XCTAssertThrowsError(try writer.finish())
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
            .filter { $0.contains("incomplete.samq.tmp") }
        XCTAssertEqual(leftovers, [])
    }

    func testSchemaMismatchIsNamed() throws {
        var config = tinyConfig()
        let schema = SAMSchema(config: config)
        var plan = schema.tensors.map { TensorEntry(name: $0.name, dtype: .f32, layout: .plain, codec: .raw, shape: $0.shape) }
        plan[3].shape = [plan[3].shape.reduce(1, *) + 1]
        config.variant = "custom"
        let metadata = SAMQMetadata(model: config, provenance: .init(source: "t", sourceFormat: "t", converterVersion: "t", createdAt: "t"),
                                    quantization: .init(weights: "f32"))
        let path = temporaryPath("misshapen.samq")
        let writer = try SAMQWriter(path: path, metadata: metadata, plan: plan)
        for entry in plan { try writer.append(name: entry.name, floats: [Float](repeating: 1, count: entry.elementCount)) }
        try writer.finish()
        XCTAssertThrowsError(try SAMQFile(path: path)) { error in
            guard case let .shapeMismatch(name, _, _) = error as? SAMQFormatError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, plan[3].name)
        }
    }
}
