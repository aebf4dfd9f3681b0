import SAMQCLISupport
import SAMQFormat
import XCTest

/// The Foundation-free text helpers must print what `String(format:)`,
/// `NSString` and `trimmingCharacters(in:)` printed before, since scripts
/// parse the CLI's output.
final class TextHelpersTests: XCTestCase {
    func testFixedMatchesPrintfRounding() {
        XCTAssertEqual(fixed(1.25, 1), "1.2")      // binary 1.25 is exact: round-half-even, as printf
        XCTAssertEqual(fixed(0.996, 2), "1.00")
        XCTAssertEqual(fixed(-3.5, 0), "-4")
        XCTAssertEqual(fixed(Float(12.75), 1), "12.8")
        XCTAssertEqual(fixed(1234.5678, 4), "1234.5678")
        XCTAssertEqual(fixed(Double.nan, 2), "nan")
        XCTAssertEqual(fixed(-Double.infinity, 1), "-inf")
        XCTAssertEqual(fixed(1e300, 0).count, 301)
        XCTAssertEqual(fixed(1, -5), "1")
    }

    func testScientific() {
        XCTAssertEqual(scientific(0.000123456), "1.23e-04")
        XCTAssertEqual(scientific(-5e10, 1), "-5.0e+10")
        XCTAssertEqual(scientific(0), "0.00e+00")
    }

    func testLeftAlignedPadsAndCuts() {
        XCTAssertEqual(leftAligned("f16", width: 5), "f16  ")
        XCTAssertEqual(leftAligned("packed-i8", width: 6), "packed")
        XCTAssertEqual(leftAligned("", width: 2), "  ")
    }

    func testByteCounts() {
        XCTAssertEqual(formatBytes(999), "999 B")
        XCTAssertEqual(formatBytes(14_900_000), "14.9 MB")
    }

    func testPathComponents() {
        XCTAssertEqual(PathText.lastComponent("/work/big/rt.samq"), "rt.samq")
        XCTAssertEqual(PathText.lastComponent("models/"), "models")
        XCTAssertEqual(PathText.lastComponent("model.samq"), "model.samq")
        XCTAssertEqual(PathText.lastComponent("/"), "/")
        XCTAssertEqual(PathText.lastComponent(""), "")
        XCTAssertEqual(PathText.deletingLastComponent("/sys/fs/cgroup/a/b"), "/sys/fs/cgroup/a")
        XCTAssertEqual(PathText.deletingLastComponent("/a"), "/")
        XCTAssertEqual(PathText.deletingLastComponent("/a/b/"), "/a")
        XCTAssertEqual(PathText.deletingLastComponent("a"), "")
    }

    func testWhitespaceTrimming() {
        XCTAssertEqual("  512MB\n".trimmingWhitespace(), "512MB")
        XCTAssertEqual("\t max \n".trimmingWhitespace(), "max")
        XCTAssertEqual(" \n ".trimmingWhitespace(), "")
        XCTAssertEqual("a b".trimmingWhitespace(), "a b")
    }
}
