import CKernels
import Foundation
import XCTest

/// `samq_add_f32` and `samq_softmax_lanes8`: every SIMD ISA gives the scalar
/// bits on odd lengths, and the scalar kernels compute what they promise.
final class ElementwiseKernelTests: XCTestCase {
    func testAddGivesTheSumOnEveryISA() {
        var rng = XorShift()
        for n in [0, 1, 3, 7, 8, 15, 16, 17, 33, 100] {
            let a = Buf<Float>(n, 0), b = Buf<Float>(n, 0)
            for i in 0 ..< n { a[i] = rng.f(); b[i] = rng.f() }
            for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                let out = Buf<Float>(n + 4, -7)
                samq_add_f32(isa, a.p, b.p, out.p, n)
                XCTAssertEqual(Array(out.array[0 ..< n]), (0 ..< n).map { a[$0] + b[$0] }, "\(isaName(isa)) n=\(n)")
                XCTAssertEqual(Array(out.array[n...]), [Float](repeating: -7, count: 4), "\(isaName(isa)) n=\(n) wrote past the end")
            }
        }
    }

    func testSoftmaxLanesMatchesTheFormulaAndEveryISA() {
        var rng = XorShift()
        for groups in [1, 2, 5, 7, 13] {
            for rows in [0, 1, 3] {
                let ld = groups * 8 + 5
                let input = (0 ..< rows * ld).map { _ in 10 * rng.f() }
                func run(_ isa: samq_isa) -> [Float] {
                    let p = Buf<Float>(rows * ld, 0)
                    for (i, x) in input.enumerated() { p[i] = x }
                    samq_softmax_lanes8(isa, p.p, rows, groups, ld)
                    return p.array
                }
                let reference = run(SAMQ_ISA_SCALAR)
                for r in 0 ..< rows {
                    for lane in 0 ..< 8 {
                        let xs = (0 ..< groups).map { Double(input[r * ld + $0 * 8 + lane]) }
                        let top = xs.max()!, total = xs.map { Foundation.exp($0 - top) }.reduce(0, +)
                        for g in 0 ..< groups {
                            XCTAssertEqual(Double(reference[r * ld + g * 8 + lane]), Foundation.exp(xs[g] - top) / total,
                                           accuracy: 1e-6, "groups=\(groups) r=\(r) lane=\(lane)")
                        }
                    }
                    // Columns past the groups are left alone.
                    for c in groups * 8 ..< ld { XCTAssertEqual(reference[r * ld + c], input[r * ld + c]) }
                }
                for isa in simdISAs() {
                    XCTAssertEqual(run(isa).map(\.bitPattern), reference.map(\.bitPattern),
                                   "\(isaName(isa)) groups=\(groups) rows=\(rows)")
                }
            }
        }
    }
}
