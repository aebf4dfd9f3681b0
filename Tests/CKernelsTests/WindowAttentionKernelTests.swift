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

    func testEveryISAMatchesDoubleReferenceAndLeavesTheRestUntouched() {
        var rng = XorShift()
        let sentinel: Float = -12345.5
        for s in Self.shapes {
            let n = s.rows * s.cols, d = s.d
            let ld = 3 * d + 2, rowStride = (s.cols + 1) * ld
            let outLd = d + 1, outRowStride = (s.cols + 2) * outLd, outCount = s.rows * outRowStride
            let qkv = Buf<Float>(s.rows * rowStride, 0), bias = Buf<Float>(n * n, 0)
            for i in 0 ..< qkv.count { qkv[i] = rng.f() * 2 }
            for i in 0 ..< bias.count { bias[i] = rng.f() * 3 }
            let scratch = Buf<Float>(samq_window_attention_scratch(n, d), 0)
            let scale = 1 / Float(d).squareRoot()
            func token(_ j: Int) -> Int { (j / s.cols) * rowStride + (j % s.cols) * ld }
            for useBias in [false, true] {
                for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                    let out = Buf<Float>(outCount, sentinel)
                    var a = samq_window_attention_args()
                    a.rows = s.rows; a.cols = s.cols; a.head_dim = d
                    a.q = UnsafePointer(qkv.p); a.k = UnsafePointer(qkv.p + d); a.v = UnsafePointer(qkv.p + 2 * d)
                    a.ld = ld; a.row_stride = rowStride
                    a.bias = useBias ? UnsafePointer(bias.p) : nil
                    a.scale = scale
                    a.out = out.p; a.out_ld = outLd; a.out_row_stride = outRowStride
                    a.out_rows = s.outRows; a.out_cols = s.outCols
                    a.scratch = scratch.p
                    XCTAssertEqual(samq_window_attention(isa, &a), 0)
                    var worst = 0.0, untouched = true
                    for r in 0 ..< s.rows {
                        for c in 0 ..< s.cols + 2 {
                            for t in 0 ..< outLd {
                                let y = out[r * outRowStride + c * outLd + t]
                                if !(r < s.outRows && c < s.outCols && t < d) && y != sentinel { untouched = false }
                            }
                        }
                    }
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
                    let label = "\(isaName(isa)) \(s) bias=\(useBias)"
                    XCTAssertTrue(untouched, "wrote outside the output grid: \(label)")
                    XCTAssertLessThan(worst, 2e-5, label)
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
        }
    }
}
