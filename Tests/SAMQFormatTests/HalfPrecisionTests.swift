import XCTest
import SAMQFormat

final class HalfPrecisionTests: XCTestCase {
    func testRoundTripsEveryHalf() {
        for bits in UInt16.min...UInt16.max {
            let value = HalfPrecision.float(fromBits: bits)
            if value.isNaN { XCTAssertTrue(HalfPrecision.float(fromBits: HalfPrecision.bits(from: value)).isNaN); continue }
            XCTAssertEqual(HalfPrecision.bits(from: value), bits, "half \(bits) → \(value)")
        }
    }

    func testRoundsToNearestEven() {
        XCTAssertEqual(HalfPrecision.bits(from: 1.0), 0x3C00)
        XCTAssertEqual(HalfPrecision.bits(from: 65504), 0x7BFF)
        XCTAssertEqual(HalfPrecision.bits(from: 1e6), 0x7C00)          // overflow → inf
        XCTAssertEqual(HalfPrecision.bits(from: 1 + 1.0 / 2048), 0x3C00) // tie → even
        XCTAssertEqual(HalfPrecision.bits(from: 1 + 3.0 / 2048), 0x3C02) // tie → even (up)
        XCTAssertEqual(HalfPrecision.bits(from: 5.960464477539063e-08), 0x0001) // smallest subnormal
    }
}
