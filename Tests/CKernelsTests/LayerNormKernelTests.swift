import CKernels
import Foundation
import XCTest

/// `samq_layernorm`: scalar against the double formula, every SIMD ISA
/// bit-identical to scalar, in place identical to out of place, on channel
/// counts that are no multiple of 8 (the lane tails).
final class LayerNormKernelTests: XCTestCase {
    func testScalarMatchesFormulaAndEveryISAIsBitExact() {
        var rng = XorShift()
        for C in [1, 3, 7, 8, 9, 64, 100, 160, 321] {
            let rows = 5, ldx = C + 3
            let x = Buf<Float>(rows * ldx, 0), w = Buf<Float>(C, 0), b = Buf<Float>(C, 0)
            for i in 0 ..< x.count { x[i] = rng.f() * 4 + 1.5 }
            for i in 0 ..< C { w[i] = rng.f(); b[i] = rng.f() }
            func run(_ isa: samq_isa, inPlace: Bool) -> [Float] {
                let y = Buf<Float>(rows * ldx, -12345.5)
                if inPlace { y.p.update(from: x.p, count: x.count) }
                var a = samq_layernorm_args()
                a.rows = rows; a.C = C; a.x = UnsafePointer(inPlace ? y.p : x.p); a.ldx = ldx
                a.y = y.p; a.ldy = ldx; a.w = UnsafePointer(w.p); a.b = UnsafePointer(b.p); a.eps = 1e-5
                XCTAssertEqual(samq_layernorm(isa, &a), 0)
                return (0 ..< rows).flatMap { r in (0 ..< C).map { y[r * ldx + $0] } }
            }
            let ref = run(SAMQ_ISA_SCALAR, inPlace: false)
            var worst = 0.0
            for r in 0 ..< rows {
                let row = (0 ..< C).map { Double(x[r * ldx + $0]) }
                let mean = row.reduce(0, +) / Double(C)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(C)
                for c in 0 ..< C {
                    let e = (row[c] - mean) / (variance + 1e-5).squareRoot() * Double(w[c]) + Double(b[c])
                    worst = max(worst, abs(Double(ref[r * C + c]) - e) / (abs(Double(w[c])) * 4 + abs(Double(b[c])) + 1e-6))
                }
            }
            XCTAssertLessThan(worst, 1e-6, "C=\(C)")
            XCTAssertEqual(run(SAMQ_ISA_SCALAR, inPlace: true).map(\.bitPattern), ref.map(\.bitPattern), "in place C=\(C)")
            for isa in simdISAs() {
                XCTAssertEqual(run(isa, inPlace: false).map(\.bitPattern), ref.map(\.bitPattern), "\(isaName(isa)) C=\(C)")
                XCTAssertEqual(run(isa, inPlace: true).map(\.bitPattern), ref.map(\.bitPattern), "\(isaName(isa)) in place C=\(C)")
            }
        }
    }

    func testInvalidArgumentsRejected() {
        let x = Buf<Float>(64, 1), w = Buf<Float>(8, 1), b = Buf<Float>(8, 0)
        var a = samq_layernorm_args()
        a.rows = 2; a.C = 8; a.x = UnsafePointer(x.p); a.ldx = 8; a.y = x.p + 1; a.ldy = 8
        a.w = UnsafePointer(w.p); a.b = UnsafePointer(b.p); a.eps = 1e-5
        XCTAssertEqual(samq_layernorm(SAMQ_ISA_SCALAR, &a), -1, "overlapping output")
        a.y = x.p + 32; a.ldx = 7
        XCTAssertEqual(samq_layernorm(SAMQ_ISA_SCALAR, &a), -1, "ldx < C")
        a.ldx = 8; a.w = nil
        XCTAssertEqual(samq_layernorm(SAMQ_ISA_SCALAR, &a), -1, "NULL weight")
        a.rows = 0
        XCTAssertEqual(samq_layernorm(SAMQ_ISA_SCALAR, &a), 0, "no rows is a no-op")
        XCTAssertEqual(samq_layernorm(SAMQ_ISA_SCALAR, nil), -1)
    }
}
