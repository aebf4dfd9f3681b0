import Foundation
import XCTest
import SAMQFormat
@testable import SAMQConverter

/// The converter's own SHA-256 against FIPS 180-4 vectors and Python's hashlib.
final class CheckpointSHA256Tests: XCTestCase {
    private func digest(_ bytes: [UInt8], chunk: Int? = nil) -> String {
        var hasher = SHA256()
        bytes.withUnsafeBytes { all in
            let step = max(chunk ?? all.count, 1)
            var start = 0
            repeat {
                let end = min(start + step, all.count)
                hasher.update(UnsafeRawBufferPointer(rebasing: all[start..<end]))
                start = end
            } while start < all.count
        }
        return SHA256.hex(hasher.finalize())
    }

    /// (i * 31 + 7) % 251 for i in 0..<n, the pattern hashed by hashlib below.
    private func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8((($0 * 31) + 7) % 251) } }

    func testKnownVectors() {
        XCTAssertEqual(digest([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(digest(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(digest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testOneMegabytePatternMatchesHashlib() {
        let expected = "1c59b8670027384143781a8a8bff2f3b44bd8818d0f53b13b064c2375a1afe38"
        let data = pattern(1 << 20)
        XCTAssertEqual(digest(data), expected)
        XCTAssertEqual(digest(data, chunk: 65_537), expected)
        // Block boundaries must not matter when streaming.
        let head = Array(data.prefix(20_000))
        let whole = digest(head)
        for chunk in [1, 63, 64, 65, 1000, 4096] { XCTAssertEqual(digest(head, chunk: chunk), whole, "chunk \(chunk)") }
        XCTAssertEqual(digest(Array(data.prefix(1_000_003 % (1 << 20)))),
                       "a79aaccf39831e39ad9382f03c515510dcde695830c65a91620160cbe434b410")
    }

    func testHexOfMappedFile() throws {
        let path = NSTemporaryDirectory() + "samq-sha256-\(getpid()).bin"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(pattern(1 << 20)).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(sha256Hex(of: try MappedFile(path: path)),
                       "1c59b8670027384143781a8a8bff2f3b44bd8818d0f53b13b064c2375a1afe38")
        try Data().write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(sha256Hex(of: try MappedFile(path: path)),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
