import XCTest
@testable import SAMQRuntime

/// Kernel family selection through `SAMQ_ISA`.
final class Int8ISATests: XCTestCase {
    func testDefaultIsBestAndSupported() throws {
        XCTAssertEqual(try KernelISA.resolve(environment: [:]), KernelISA.best)
        XCTAssertEqual(try KernelISA.resolve(environment: ["SAMQ_ISA": ""]), KernelISA.best)
        XCTAssertTrue(KernelISA.best.isSupported)
        XCTAssertTrue(KernelISA.supported.contains(.scalar))
    }

    func testForcesEverySupportedFamily() throws {
        for isa in KernelISA.supported {
            XCTAssertEqual(try KernelISA.resolve(environment: ["SAMQ_ISA": isa.name]), isa)
            XCTAssertEqual(try KernelISA.resolve(environment: ["SAMQ_ISA": isa.name.uppercased()]), isa)
        }
    }

    func testUnknownNameListsSupportedFamilies() {
        XCTAssertThrowsError(try KernelISA.resolve(environment: ["SAMQ_ISA": "sse9"])) { error in
            guard case Int8RuntimeError.unknownISA(let name, let supported) = error else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(name, "sse9")
            XCTAssertEqual(supported, KernelISA.supported.map(\.name))
            XCTAssertTrue("\(error)".contains("scalar"))
        }
    }

    func testUnsupportedFamilyIsAnError() {
        let missing = KernelISA.all.filter { !$0.isSupported }
        XCTAssertFalse(missing.isEmpty, "no CPU supports both x86 and ARM families")
        for isa in missing {
            XCTAssertThrowsError(try KernelISA.resolve(environment: ["SAMQ_ISA": isa.name])) { error in
                guard case Int8RuntimeError.unsupportedISA(let name, _) = error else { return XCTFail("unexpected \(error)") }
                XCTAssertEqual(name, isa.name)
                XCTAssertTrue("\(error)".contains("not supported on this CPU"))
            }
        }
    }

    func testNamesRoundTrip() throws {
        XCTAssertEqual(KernelISA.all.map(\.name), ["scalar", "avx2", "avx512vnni", "neon", "dotprod", "i8mm", "amx"])
    }
}
