import Foundation
import XCTest

/// Locates Tests/Fixtures/images from this source file.
enum Fixtures {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent() // SAMQImageTests
        url.deleteLastPathComponent() // Tests
        return url.appendingPathComponent("Fixtures/images").path
    }()

    static func path(_ relative: String) -> String { root + "/" + relative }

    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }

    static func floats(_ relative: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(relative)))
        return data.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// Non-empty lines of a manifest, split on spaces.
    static func manifest(_ relative: String) throws -> [[String]] {
        try String(contentsOfFile: path(relative), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    }

    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "samq-image-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
