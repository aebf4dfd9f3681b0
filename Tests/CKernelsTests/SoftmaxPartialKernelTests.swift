import CKernels
import Foundation
import XCTest

/// `samq_softmax_partial`: one pixel chunk of the decoder's streamed
/// token→image softmax. The scalar kernel is checked against the formula in
/// double precision; every SIMD ISA against the scalar kernel bit for bit
/// (on x86 the scalar reference cannot be contracted into FMAs).
final class SoftmaxPartialKernelTests: XCTestCase {
    struct Shape { var pixels: Int; var rows: Int; var group: Int; var hd: Int }

    static let shapes: [Shape] = {
        var all = [Shape]()
        for pixels in [0, 1, 3, 17, 128] {
            for (rows, group) in [(1, 1), (3, 1), (8, 8), (9, 3), (17, 17), (56, 7), (40, 5)] {
                for hd in [1, 8, 12, 16, 20, 24] { all.append(Shape(pixels: pixels, rows: rows, group: group, hd: hd)) }
            }
        }
        return all
    }()

    /// Scores, values and outputs for one shape; values have 3 spare columns.
    struct Case {
        let shape: Shape
        let scores: [Float]
        let values: [Float]
        var ldv: Int { (shape.rows + shape.group - 1) / shape.group * shape.hd + 3 }

        init(_ shape: Shape, rng: inout XorShift) {
            self.shape = shape
            // Scores spread over ±12 so exponentials span many magnitudes.
            scores = (0 ..< shape.pixels * shape.rows).map { _ in 12 * rng.f() }
            let ldv = (shape.rows + shape.group - 1) / shape.group * shape.hd + 3
            values = (0 ..< shape.pixels * ldv).map { _ in rng.f() }
        }

        func run(_ isa: samq_isa) -> (exps: [Float], maxima: [Float], sums: [Float], weighted: [Float]) {
            let s = Buf<Float>(scores.count, 0)
            for (i, x) in scores.enumerated() { s[i] = x }
            let v = Buf<Float>(values.count, 0)
            for (i, x) in values.enumerated() { v[i] = x }
            let mx = Buf<Float>(shape.rows, 7), sum = Buf<Float>(shape.rows, 7)
            let acc = Buf<Float>(shape.rows * shape.hd, 7)
            samq_softmax_partial(isa, s.p, shape.pixels, shape.rows, shape.group, v.p, ldv, shape.hd, mx.p, sum.p,
                                 acc.p)
            return (s.array, mx.array, sum.array, acc.array)
        }
    }

    func testScalarMatchesTheFormula() {
        var rng = XorShift()
        for shape in Self.shapes {
            let c = Case(shape, rng: &rng)
            let out = c.run(SAMQ_ISA_SCALAR)
            for r in 0 ..< shape.rows {
                let column = (0 ..< shape.pixels).map { Double(c.scores[$0 * shape.rows + r]) }
                let top = column.max() ?? -.infinity
                XCTAssertEqual(Double(out.maxima[r]), top, "max \(shape) r=\(r)")
                let exps = column.map { Foundation.exp($0 - top) }
                XCTAssertEqual(Double(out.sums[r]), exps.reduce(0, +), accuracy: 1e-5 * max(1, exps.reduce(0, +)),
                               "sum \(shape) r=\(r)")
                for d in 0 ..< shape.hd {
                    var expect = 0.0
                    for j in 0 ..< shape.pixels {
                        expect += exps[j] * Double(c.values[j * c.ldv + (r / shape.group) * shape.hd + d])
                    }
                    XCTAssertEqual(Double(out.weighted[r * shape.hd + d]), expect, accuracy: 1e-5 * max(1, abs(expect)),
                                   "acc \(shape) r=\(r) d=\(d)")
                }
            }
        }
    }

    func testEverySIMDISAGivesTheScalarBits() {
        var rng = XorShift()
        for shape in Self.shapes {
            let c = Case(shape, rng: &rng)
            let reference = c.run(SAMQ_ISA_SCALAR)
            for isa in simdISAs() {
                let out = c.run(isa)
                XCTAssertEqual(out.maxima.map(\.bitPattern), reference.maxima.map(\.bitPattern), "\(isaName(isa)) \(shape)")
                XCTAssertEqual(out.exps.map(\.bitPattern), reference.exps.map(\.bitPattern), "\(isaName(isa)) \(shape)")
                XCTAssertEqual(out.sums.map(\.bitPattern), reference.sums.map(\.bitPattern), "\(isaName(isa)) \(shape)")
                XCTAssertEqual(out.weighted.map(\.bitPattern), reference.weighted.map(\.bitPattern),
                               "\(isaName(isa)) \(shape)")
            }
        }
    }

    /// A NaN score never becomes the maximum, and no ISA writes past the outputs.
    func testNaNScoresAndNoRowsAreSafe() {
        for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
            let s = Buf<Float>(16, 1)
            s[3] = .nan
            let v = Buf<Float>(16 * 2, 1)
            let mx = Buf<Float>(2, 7), sum = Buf<Float>(2, 7), acc = Buf<Float>(2 * 2, 7)
            samq_softmax_partial(isa, s.p, 8, 2, 1, v.p, 4, 2, mx.p, sum.p, acc.p)
            XCTAssertEqual(mx[1], 1, isaName(isa))
            samq_softmax_partial(isa, s.p, 8, 0, 1, v.p, 4, 2, mx.p, sum.p, acc.p)   // rows == 0: no-op
            XCTAssertEqual(mx[1], 1, isaName(isa))
        }
    }
}
