import XCTest
final class SAMQImageTestsPlaceholder: XCTestCase { func testBuilds() {} }
