import CKernels
import XCTest

/// `samq_relpos_fill`: every ISA writes exactly rel_h[kh] + rel_w[kw] into
/// the first size² floats of each row and nothing else.
final class RelativePositionFillKernelTests: XCTestCase {
    func testEveryISAWritesTheOuterSumAndNothingElse() {
        var rng = XorShift()
        for size in [1, 3, 7, 14, 15, 16, 17, 33, 64] {
            for rows in [0, 1, 3, 5] {
                let lds = size * size + 5
                let relH = Buf<Float>(max(1, rows * size), 0), relW = Buf<Float>(max(1, rows * size), 0)
                for i in 0 ..< rows * size { relH[i] = rng.f(); relW[i] = rng.f() }
                for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                    let scores = Buf<Float>(max(1, rows * lds) + 16, -7)
                    samq_relpos_fill(isa, scores.p, lds, rows, size, relH.p, relW.p)
                    var ok = true
                    for r in 0 ..< rows {
                        for kh in 0 ..< size {
                            for kw in 0 ..< size where scores[r * lds + kh * size + kw] != relH[r * size + kh] + relW[r * size + kw] {
                                ok = false
                            }
                        }
                        for c in size * size ..< lds where scores[r * lds + c] != -7 { ok = false }
                    }
                    for i in rows * lds ..< scores.count where scores[i] != -7 { ok = false }
                    XCTAssertTrue(ok, "\(isaName(isa)) size=\(size) rows=\(rows)")
                }
            }
        }
    }
}
