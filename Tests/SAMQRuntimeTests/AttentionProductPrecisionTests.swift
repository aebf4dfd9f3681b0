import XCTest
@testable import SAMQRuntime

/// `SAMQ_BF16`: the default follows the CPU, 0 forces f32, 1 requires bf16.
final class AttentionProductPrecisionTests: XCTestCase {
    func testDefaultFollowsTheHardware() throws {
        for isa in KernelISA.supported {
            let expected = AttentionProductPrecision.default(for: isa)
            XCTAssertEqual(try AttentionProductPrecision.resolve(for: isa, environment: [:]), expected)
            XCTAssertEqual(try AttentionProductPrecision.resolve(for: isa, environment: ["SAMQ_BF16": " "]), expected)
            XCTAssertEqual(Int8Context(isa: isa, pool: ThreadPool(threads: 1)).attentionProducts, expected)
        }
        XCTAssertEqual(AttentionProductPrecision.default(for: .scalar), .f32)
        XCTAssertEqual(AttentionProductPrecision.default(for: .avx2), .f32)
    }

    func testZeroForcesFloat32AndOneRequiresBF16() throws {
        for isa in KernelISA.supported {
            XCTAssertEqual(try AttentionProductPrecision.resolve(for: isa, environment: ["SAMQ_BF16": "0"]), .f32)
            if AttentionProductPrecision.default(for: isa) == .bf16 {
                XCTAssertEqual(try AttentionProductPrecision.resolve(for: isa, environment: ["SAMQ_BF16": "1"]), .bf16)
            } else {
                XCTAssertThrowsError(try AttentionProductPrecision.resolve(for: isa, environment: ["SAMQ_BF16": "1"])) {
                    XCTAssertTrue("\($0)".contains("AVX512_BF16"), "\($0)")
                }
            }
        }
        XCTAssertThrowsError(try AttentionProductPrecision.resolve(for: .scalar, environment: ["SAMQ_BF16": "yes"])) {
            XCTAssertEqual("\($0)", "SAMQ_BF16=yes: must be 0 (f32) or 1 (bf16)")
        }
    }
}
