import Foundation
import XCTest
@testable import SAMQConverter

/// Paths and helpers shared by the checkpoint reader tests.
enum CheckpointFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let malformed = root.appendingPathComponent("malformed")
    static let valid = malformed.appendingPathComponent("valid")
    static let sam = root.appendingPathComponent("sam")

    static func path(_ url: URL, _ name: String) -> String { url.appendingPathComponent(name).path }

    static func decode<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: url))
    }

    /// Opens a checkpoint and reads every tensor, so lazily detected faults surface too.
    static func openAndReadAll(_ path: String) throws -> (CheckpointSource, [String: [Float]]) {
        let source = try CheckpointLoader.open(path: path)
        var values: [String: [Float]] = [:]
        for info in source.tensors { values[info.name] = try source.readFloat32(named: info.name) }
        return (source, values)
    }
}

extension CheckpointError {
    /// The enum case name, e.g. "forbiddenGlobal", as listed in expected.json.
    var caseName: String { Mirror(reflecting: self).children.first?.label ?? "\(self)" }
}
