import CKernels
import XCTest

/// `samq_pack_columns_i8` (Vᵀ for the attention's P·V) against an independent
/// path: transpose, `samq_quantize_rows` per row of the transpose, then the
/// reference packer. Every ISA must write the same bytes, padding included.
final class ColumnPackingKernelTests: XCTestCase {
    private static let rowCounts = [0, 1, 3, 4, 5, 17, 64, 100, 257]
    private static let columnCounts = [1, 15, 16, 17, 33, 64, 100]

    func testEveryISAMatchesTransposeQuantizePack() {
        var rng = XorShift()
        for rows in Self.rowCounts {
            for cols in Self.columnCounts {
                let ld = cols + 3
                let x = Buf<Float>(max(1, rows * ld), 0)
                for i in 0 ..< rows * ld { x[i] = rng.f() * (i % 7 == 0 ? 50 : 1) }
                if rows > 2 && cols > 3 {
                    x[ld + 1] = .nan; x[2 * ld + 2] = .infinity; x[3] = -.infinity
                    for r in 0 ..< rows { x[r * ld + cols - 1] = 0 }        // an all-zero column
                    x[ld + cols - 2] = 1e-35                                 // a column below the 1e-30 cut
                }
                let expected = reference(x, rows: rows, cols: cols, ld: ld)
                for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                    let out = Buf<UInt8>(expected.count + 64, 0xA5)
                    samq_pack_columns_i8(isa, x.p, rows, cols, ld, out.p)
                    XCTAssertEqual(Array(out.array.prefix(expected.count)), expected,
                                   "\(isaName(isa)) rows=\(rows) cols=\(cols)")
                    XCTAssertTrue(out.array.suffix(64).allSatisfy { $0 == 0xA5 }, "\(isaName(isa)) wrote past the end")
                }
            }
        }
    }

    func testNoColumnsIsANoOp() {
        let x = Buf<Float>(8, 1)
        let out = Buf<UInt8>(16, 0xA5)
        for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
            samq_pack_columns_i8(isa, x.p, 8, 0, 1, out.p)
            XCTAssertTrue(out.array.allSatisfy { $0 == 0xA5 })
        }
    }

    private func reference(_ x: Buf<Float>, rows: Int, cols: Int, ld: Int) -> [UInt8] {
        let transposed = Buf<Float>(max(1, cols * rows), 0)
        for r in 0 ..< rows { for c in 0 ..< cols { transposed[c * rows + r] = x[r * ld + c] } }
        let ldq = max(1, rows)
        let codes = Buf<Int8>(cols * ldq, 0)
        let scales = Buf<Float>(cols, 0)
        if rows > 0 {
            samq_quantize_rows(SAMQ_ISA_SCALAR, transposed.p, cols, rows, rows, codes.p, ldq, scales.p)
        }
        let dense = Buf<Int8>(max(1, cols * rows), 0)
        for c in 0 ..< cols { for r in 0 ..< rows { dense[c * rows + r] = codes[c * ldq + r] } }
        let packed = Buf<UInt8>(samq_packed_size(cols, rows), 0)
        samq_pack_weights_i8(dense.p, scales.p, cols, rows, packed.p)
        return packed.array
    }
}
