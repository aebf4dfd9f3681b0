import XCTest
final class SAMQRuntimeTestsPlaceholder: XCTestCase { func testBuilds() {} }
