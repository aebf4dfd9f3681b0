import CKernels
import Foundation
import XCTest

/// `samq_window_attention`: scalar and every SIMD ISA against a double
/// softmax(q·kᵀ·scale + bias)·v on odd grids (one token, partial output
/// grids, head sizes that are no multiple of any vector width, strided tokens).
final class WindowAttentionKernelTests: XCTestCase {
    struct Shape { let rows, cols, outRows, outCols, d: Int }

    static let shapes = [
        Shape(rows: 1, cols: 1, outRows: 1, outCols: 1, d: 1), Shape(rows: 7, cols: 7, outRows: 7, outCols: 7, d: 32),
        Shape(rows: 7, cols: 7, outRows: 3, outCols: 5, d: 32), Shape(rows: 14, cols: 14, outRows: 8, outCols: 14, d: 32),
        Shape(rows: 3, cols: 5, outRows: 2, outCols: 5, d: 17), Shape(rows: 1, cols: 9, outRows: 1, outCols: 9, d: 33),
        Shape(rows: 5, cols: 4, outRows: 5, outCols: 1, d: 8),
    ]

    typealias Kernel = (samq_isa, UnsafePointer<samq_window_attention_args>) -> Int32

    /// One shape's random q, k, v (strided tokens) and bias, and a call of
    /// `kernel` on them into a sentinel-filled output.
    struct Case {
        let s: Shape
        let n, d, ld, rowStride, outLd, outRowStride: Int
        let qkv, bias: Buf<Float>
        let scale: Float
        static let sentinel: Float = -12345.5

        init(_ s: Shape, _ rng: inout XorShift, biasScale: Float = 3) {
            self.s = s
            n = s.rows * s.cols; d = s.d
            ld = 3 * d + 2; rowStride = (s.cols + 1) * ld
            outLd = d + 1; outRowStride = (s.cols + 2) * outLd
            qkv = Buf<Float>(s.rows * rowStride, 0); bias = Buf<Float>(n * n, 0)
            for i in 0 ..< qkv.count { qkv[i] = rng.f() * 2 }
            for i in 0 ..< bias.count { bias[i] = rng.f() * biasScale }
            scale = 1 / Float(d).squareRoot()
        }

        func token(_ j: Int) -> Int { (j / s.cols) * rowStride + (j % s.cols) * ld }

        func run(_ kernel: Kernel, _ isa: samq_isa, bias useBias: Bool) -> (out: Buf<Float>, status: Int32) {
            let out = Buf<Float>(s.rows * outRowStride, Self.sentinel)
            let scratch = Buf<Float>(samq_window_attention_scratch(n, d), 0)
            var a = samq_window_attention_args()
            a.rows = s.rows; a.cols = s.cols; a.head_dim = d
            a.q = UnsafePointer(qkv.p); a.k = UnsafePointer(qkv.p + d); a.v = UnsafePointer(qkv.p + 2 * d)
            a.ld = ld; a.row_stride = rowStride
            a.bias = useBias ? UnsafePointer(bias.p) : nil
            a.scale = scale
            a.out = out.p; a.out_ld = outLd; a.out_row_stride = outRowStride
            a.out_rows = s.outRows; a.out_cols = s.outCols
            a.scratch = scratch.p
            return (out, kernel(isa, &a))
        }

        /// True if nothing outside the output grid was written.
        func untouched(_ out: Buf<Float>) -> Bool {
            for r in 0 ..< s.rows {
                for c in 0 ..< s.cols + 2 {
                    for t in 0 ..< outLd where !(r < s.outRows && c < s.outCols && t < d) {
                        if out[r * outRowStride + c * outLd + t] != Self.sentinel { return false }
                    }
                }
            }
            return true
        }

        /// The largest error against softmax(q·kᵀ·scale + bias)·v in double,
        /// relative to Σ p_j |v_j| of its output value.
        func worstError(_ out: Buf<Float>, bias useBias: Bool) -> Double {
            var worst = 0.0
            for r in 0 ..< s.outRows {
                for c in 0 ..< s.outCols {
                    let i = r * s.cols + c
                    var e = (0 ..< n).map { j -> Double in
                        var acc = 0.0
                        for t in 0 ..< d { acc += Double(qkv[token(i) + t]) * Double(qkv[token(j) + d + t]) }
                        return acc * Double(scale) + (useBias ? Double(bias[i * n + j]) : 0)
                    }
                    let mx = e.max()!
                    e = e.map { Foundation.exp($0 - mx) }
                    let sum = e.reduce(0, +)
                    for t in 0 ..< d {
                        var acc = 0.0, mag = 0.0
                        for j in 0 ..< n {
                            let v = Double(qkv[token(j) + 2 * d + t])
                            acc += e[j] * v; mag += e[j] * abs(v)
                        }
                        let y = Double(out[r * outRowStride + c * outLd + t])
                        worst = max(worst, abs(y - acc / sum) / (mag / sum + 1e-30))
                    }
                }
            }
            return worst
        }

        /// The largest |a − b| over the output grid, relative to the largest
        /// |v_j| of the output's channel (a bound on any mix of the values).
        func worstDifference(_ a: Buf<Float>, _ b: Buf<Float>) -> Double {
            var worst = 0.0
            for r in 0 ..< s.outRows {
                for c in 0 ..< s.outCols {
                    for t in 0 ..< d {
                        let mag = (0 ..< n).map { abs(Double(qkv[token($0) + 2 * d + t])) }.max()!
                        let o = r * outRowStride + c * outLd + t
                        worst = max(worst, abs(Double(a[o]) - Double(b[o])) / (mag + 1e-30))
                    }
                }
            }
            return worst
        }
    }

    func testEveryISAMatchesDoubleReferenceAndLeavesTheRestUntouched() {
        var rng = XorShift()
        for s in Self.shapes {
            let c = Case(s, &rng)
            for useBias in [false, true] {
                for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                    let (out, status) = c.run(samq_window_attention, isa, bias: useBias)
                    let label = "\(isaName(isa)) \(s) bias=\(useBias)"
                    XCTAssertEqual(status, 0, label)
                    XCTAssertTrue(c.untouched(out), "wrote outside the output grid: \(label)")
                    XCTAssertLessThan(c.worstError(out, bias: useBias), 2e-5, label)
                }
            }
        }
    }

    /// `samq_window_attention_bf16`: every ISA gives the scalar emulation's
    /// bits (the AVX-512 kernel where the CPU has AVX512_BF16, the emulation
    /// elsewhere) but AMX tiles, which agree with it to 2e-4 of the largest
    /// |v_j| and are deterministic; and the emulation is within bf16's error of the double
    /// reference (8-bit operands: scores off by ~1e-2, so ~1e-2 of Σ p|v|).
    func testBF16ProductsGiveTheEmulationsBitsOnEveryISA() {
        var rng = XorShift()
        let shapes = Self.shapes + [Shape(rows: 14, cols: 14, outRows: 14, outCols: 14, d: 32),
                                    Shape(rows: 7, cols: 9, outRows: 7, outCols: 9, d: 40),
                                    Shape(rows: 3, cols: 3, outRows: 3, outCols: 3, d: 12),
                                    // A small window with a wide head: the AMX kernel's P·V tiles (48
                                    // floats a row) outgrow its score rows (16 wide) here.
                                    Shape(rows: 3, cols: 3, outRows: 3, outCols: 3, d: 64)]
        // A bias of ±100 sends most exps to the clamp, to subnormals and to zero.
        for (s, biasScale) in shapes.map({ ($0, Float(3)) }) + shapes.prefix(4).map({ ($0, Float(200)) }) {
            let c = Case(s, &rng, biasScale: biasScale)
            for useBias in [false, true] {
                let (reference, status) = c.run(samq_window_attention_bf16, SAMQ_ISA_SCALAR, bias: useBias)
                XCTAssertEqual(status, 0)
                XCTAssertTrue(c.untouched(reference), "emulation wrote outside the output grid: \(s)")
                XCTAssertLessThan(c.worstError(reference, bias: useBias), 3e-2, "emulation \(s) bias=\(useBias)")
                for isa in simdISAs() {
                    let (out, status) = c.run(samq_window_attention_bf16, isa, bias: useBias)
                    let label = "\(isaName(isa)) (native bf16: \(samq_bf16_native(isa))) \(s) bias=\(useBias)"
                    XCTAssertEqual(status, 0, label)
                    XCTAssertTrue(c.untouched(out), "wrote outside the output grid: \(label)")
                    if samq_window_attention_bf16_tiles(isa) != 0 {
                        // AMX tiles round their f32 sums their own way: close, not the same bits.
                        XCTAssertLessThan(c.worstDifference(out, reference), 2e-4, label)
                        XCTAssertLessThan(c.worstError(out, bias: useBias), 3e-2, label)
                        let (again, _) = c.run(samq_window_attention_bf16, isa, bias: useBias)
                        XCTAssertTrue((0 ..< out.count).allSatisfy { out[$0].bitPattern == again[$0].bitPattern },
                                      "not deterministic: \(label)")
                        continue
                    }
                    let differing = (0 ..< out.count).filter { out[$0].bitPattern != reference[$0].bitPattern }.count
                    XCTAssertEqual(differing, 0, label)
                }
            }
        }
    }

    func testInvalidArgumentsRejected() {
        var a = samq_window_attention_args()
        a.rows = 2; a.cols = 2; a.head_dim = 4; a.out_rows = 3; a.out_cols = 2
        XCTAssertEqual(samq_window_attention(SAMQ_ISA_SCALAR, &a), -1, "out_rows beyond the grid")
        a.out_rows = 2
        XCTAssertEqual(samq_window_attention(SAMQ_ISA_SCALAR, &a), -1, "NULL buffers")
        a.out_rows = 0
        XCTAssertEqual(samq_window_attention(SAMQ_ISA_SCALAR, &a), 0, "empty output is a no-op")
        XCTAssertEqual(samq_window_attention(SAMQ_ISA_SCALAR, nil), -1)
        for isa in allISAs() where samq_isa_supported(isa) == 0 {
            var b = samq_window_attention_args()
            XCTAssertEqual(samq_window_attention(isa, &b), -1, "unsupported \(isaName(isa))")
            XCTAssertEqual(samq_window_attention_bf16(isa, &b), -1, "unsupported \(isaName(isa)), bf16")
        }
        a.out_rows = 3
        XCTAssertEqual(samq_window_attention_bf16(SAMQ_ISA_SCALAR, &a), -1, "bf16: out_rows beyond the grid")
        XCTAssertEqual(samq_window_attention_bf16(SAMQ_ISA_SCALAR, nil), -1)
    }
}
