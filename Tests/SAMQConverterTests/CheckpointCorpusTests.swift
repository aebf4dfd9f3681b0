import Foundation
import XCTest
@testable import SAMQConverter

/// Every file of Tests/Fixtures/malformed must fail with its listed error: no
/// crash, no hang, no other error.
final class CheckpointCorpusTests: XCTestCase {
    struct Expectation: Decodable {
        let error: String
        let contains: String
    }

    func testEveryMalformedFileGivesItsExpectedError() throws {
        let expected = try CheckpointFixtures.decode([String: Expectation].self,
                                                     from: CheckpointFixtures.malformed.appendingPathComponent("expected.json"))
        XCTAssertGreaterThan(expected.count, 80)
        for (file, expectation) in expected.sorted(by: { $0.key < $1.key }) {
            let path = CheckpointFixtures.path(CheckpointFixtures.malformed, file)
            do {
                _ = try CheckpointFixtures.openAndReadAll(path)
                XCTFail("\(file): read without error, expected \(expectation.error)")
            } catch let error as CheckpointError {
                XCTAssertEqual(error.caseName, expectation.error, "\(file): \(error)")
                XCTAssertTrue(error.description.contains(expectation.contains),
                              "\(file): '\(error)' does not mention '\(expectation.contains)'")
                XCTAssertTrue(error.description.contains(file), "\(file): message does not name the file: \(error)")
            } catch {
                XCTFail("\(file): unexpected error type \(type(of: error)): \(error)")
            }
        }
    }

    func testCorpusHasNoUnlistedFiles() throws {
        let expected = try CheckpointFixtures.decode([String: Expectation].self,
                                                     from: CheckpointFixtures.malformed.appendingPathComponent("expected.json"))
        let files = try FileManager.default.contentsOfDirectory(atPath: CheckpointFixtures.malformed.path)
            .filter { $0 != "expected.json" && $0 != "valid" }
        XCTAssertEqual(Set(files), Set(expected.keys))
    }

    func testMissingFileIsAReadError() {
        XCTAssertThrowsError(try CheckpointLoader.open(path: "/nonexistent/ckpt.pth")) { error in
            XCTAssertEqual((error as? CheckpointError)?.caseName, "cannotRead")
        }
    }
}
