import XCTest
import SAMQFormat

final class XXHash64Tests: XCTestCase {
    /// Reference values from the xxhash C library (via python-xxhash).
    func testMatchesReferenceVectors() {
        XCTAssertEqual(XXHash64.hash([]), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(XXHash64.hash(Array("a".utf8)), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(XXHash64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
        let long = Array((0..<5).flatMap { _ in (0...255).map { UInt8($0) } }) + Array("xyz".utf8)
        XCTAssertEqual(XXHash64.hash(long), 0xAFD1_8A39_57D3_670A)
    }
}
