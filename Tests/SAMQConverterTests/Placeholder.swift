import XCTest
final class SAMQConverterTestsPlaceholder: XCTestCase { func testBuilds() {} }
