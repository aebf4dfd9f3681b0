import XCTest
final class SAMQFormatTestsPlaceholder: XCTestCase { func testBuilds() {} }
