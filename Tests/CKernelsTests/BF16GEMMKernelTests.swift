import CKernels
import Foundation
import XCTest

/// `samq_bf16gemm`: the scalar emulation computes the bf16 products it
/// promises, and every ISA gives its bits (AVX512_BF16 hardware where the CPU
/// has it) on odd shapes, with subnormals, K past the kernel's K blocks, split
/// ranges and a summed residual. (aarch64: Tests/CKernelsC/kernel_test.c under qemu.)
final class BF16GEMMKernelTests: XCTestCase {
    private func bf16Value(_ x: Float) -> Double { Double(Float(bitPattern: UInt32(samq_bf16_round(x)) << 16)) }

    func testRoundingIsNearestEvenWithSubnormalsFlushed() {
        XCTAssertEqual(samq_bf16_round(1.0), 0x3F80)
        XCTAssertEqual(samq_bf16_round(1.00390625), 0x3F80)          // halfway: to even
        XCTAssertEqual(samq_bf16_round(1.005859375), 0x3F81)         // halfway: to even (up)
        XCTAssertEqual(samq_bf16_round(-Float.leastNormalMagnitude / 4), 0x8000)  // subnormal: signed zero
        XCTAssertEqual(samq_bf16_round(.infinity), 0x7F80)
        XCTAssertEqual(samq_bf16_round(.nan) & 0x7FC0, 0x7FC0)       // quiet NaN
    }

    private func run(_ isa: samq_isa, m: Int, n: Int, k: Int, a: Buf<Float>, lda: Int, b: Buf<UInt32>, ldb: Int,
                     bias: Buf<Float>?, residual: Buf<Float>?, residualAdd: Buf<Float>?, gelu: Bool,
                     rows: Range<Int>, cols: Range<Int>, into c: Buf<Float>, ldc: Int) -> Int32 {
        var args = samq_bf16gemm_args()
        args.M = m; args.N = n; args.K = k
        args.A = UnsafePointer(a.p); args.lda = lda
        args.B = UnsafePointer(b.p); args.ldb = ldb
        args.bias = bias.map { UnsafePointer($0.p) }
        args.residual = residual.map { UnsafePointer($0.p) }; args.ldr = ldc
        args.residual_add = residualAdd.map { UnsafePointer($0.p) }
        args.C = c.p; args.ldc = ldc
        args.flags = gelu ? UInt32(SAMQ_SGEMM_GELU) : 0
        args.m_begin = rows.lowerBound; args.m_end = rows.upperBound
        args.n_begin = cols.lowerBound; args.n_end = cols.upperBound
        return samq_bf16gemm(isa, &args)
    }

    func testEveryISAGivesTheEmulatedBits() {
        var rng = XorShift()
        for (m, k, n) in [(1, 56, 256), (9, 13, 33), (17, 1, 17), (3, 0, 5), (8, 1100, 40), (0, 7, 9), (5, 7, 0)] {
            let lda = k + 3, ldb = n + 1, ldc = n + 2, pairs = (k + 1) / 2
            let a = Buf<Float>(m * lda, 0), raw = Buf<Float>(k * ldb, 0), b = Buf<UInt32>(pairs * ldb, 0)
            for i in 0 ..< m * lda { a[i] = rng.next() % 19 == 0 ? rng.f() * 1e-37 : rng.f() }
            for i in 0 ..< k * ldb { raw[i] = rng.f() }
            samq_bf16_pack_kn(raw.p, k, n, ldb, b.p, ldb)
            let bias = Buf<Float>(n, 0), residual = Buf<Float>(m * ldc, 0), add = Buf<Float>(n, 0)
            for i in 0 ..< n { bias[i] = rng.f(); add[i] = rng.f() }
            for i in 0 ..< m * ldc { residual[i] = rng.f() }
            for variant in 0 ..< 3 {
                let useResidual = variant > 0, useAdd = variant == 2
                let reference = Buf<Float>(m * ldc, -9)
                XCTAssertEqual(run(SAMQ_ISA_SCALAR, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, bias: bias,
                                   residual: useResidual ? residual : nil, residualAdd: useAdd ? add : nil,
                                   gelu: variant == 1, rows: 0 ..< m, cols: 0 ..< n, into: reference, ldc: ldc), 0)
                for r in 0 ..< m {
                    for j in 0 ..< n {
                        var sum = 0.0, magnitude = 0.0
                        for i in 0 ..< k {
                            let p = bf16Value(a[r * lda + i]) * bf16Value(raw[i * ldb + j])
                            sum += p; magnitude += abs(p)
                        }
                        sum += Double(bias[j])
                        if variant == 1 { sum = 0.5 * sum * (1 + erf(sum / 2.0.squareRoot())) }
                        if useResidual { sum += Double(residual[r * ldc + j]) + (useAdd ? Double(add[j]) : 0) }
                        XCTAssertEqual(Double(reference[r * ldc + j]), sum, accuracy: 1e-5 * (magnitude + 4),
                                       "m=\(m) k=\(k) n=\(n) variant \(variant) at \(r),\(j)")
                    }
                }
                for isa in simdISAs() {
                    // Whole range, then the same outputs in four pieces.
                    let whole = Buf<Float>(m * ldc, -9), pieces = Buf<Float>(m * ldc, -9)
                    XCTAssertEqual(run(isa, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, bias: bias,
                                       residual: useResidual ? residual : nil, residualAdd: useAdd ? add : nil,
                                       gelu: variant == 1, rows: 0 ..< m, cols: 0 ..< n, into: whole, ldc: ldc), 0)
                    for rows in [0 ..< m / 2, m / 2 ..< m] {
                        for cols in [0 ..< n / 3, n / 3 ..< n] {
                            XCTAssertEqual(run(isa, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, bias: bias,
                                               residual: useResidual ? residual : nil, residualAdd: useAdd ? add : nil,
                                               gelu: variant == 1, rows: rows, cols: cols, into: pieces, ldc: ldc), 0)
                        }
                    }
                    let name = "\(isaName(isa)) (bf16 hardware: \(samq_bf16_native(isa) != 0)) m=\(m) k=\(k) n=\(n) variant \(variant)"
                    XCTAssertEqual(whole.array.map(\.bitPattern), reference.array.map(\.bitPattern), name)
                    XCTAssertEqual(pieces.array.map(\.bitPattern), reference.array.map(\.bitPattern), name + ", split")
                }
            }
        }
    }

    func testResidualMayBeTheOutput() {
        var rng = XorShift()
        let m = 11, k = 56, n = 70, pairs = 28
        let a = Buf<Float>(m * k, 0), raw = Buf<Float>(k * n, 0), b = Buf<UInt32>(pairs * n, 0)
        for i in 0 ..< m * k { a[i] = rng.f() }
        for i in 0 ..< k * n { raw[i] = rng.f() }
        samq_bf16_pack_kn(raw.p, k, n, n, b.p, n)
        let start = Buf<Float>(m * n, 0)
        for i in 0 ..< m * n { start[i] = rng.f() }
        for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
            let separate = Buf<Float>(m * n, 0), inPlace = Buf<Float>(m * n, 0)
            for i in 0 ..< m * n { inPlace[i] = start[i] }
            XCTAssertEqual(run(isa, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, bias: nil, residual: start,
                               residualAdd: nil, gelu: false, rows: 0 ..< m, cols: 0 ..< n, into: separate, ldc: n), 0)
            XCTAssertEqual(run(isa, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, bias: nil, residual: inPlace,
                               residualAdd: nil, gelu: false, rows: 0 ..< m, cols: 0 ..< n, into: inPlace, ldc: n), 0)
            XCTAssertEqual(inPlace.array.map(\.bitPattern), separate.array.map(\.bitPattern), isaName(isa))
        }
    }

    func testInvalidArgumentsAreRejected() {
        let c = Buf<Float>(4, 0), a = Buf<Float>(4, 1), b = Buf<UInt32>(4, 0)
        var args = samq_bf16gemm_args()
        args.M = 1; args.N = 1; args.K = 2; args.C = c.p; args.ldc = 1; args.m_end = 1; args.n_end = 1
        XCTAssertEqual(samq_bf16gemm(SAMQ_ISA_SCALAR, &args), -1, "no operands")
        args.A = UnsafePointer(a.p); args.lda = 2; args.B = UnsafePointer(b.p); args.ldb = 1
        XCTAssertEqual(samq_bf16gemm(SAMQ_ISA_SCALAR, &args), 0)
        args.m_end = 2
        XCTAssertEqual(samq_bf16gemm(SAMQ_ISA_SCALAR, &args), -1, "rows past M")
        args.m_end = 1; args.lda = 1
        XCTAssertEqual(samq_bf16gemm(SAMQ_ISA_SCALAR, &args), -1, "lda < K")
        args.lda = 2; args.residual_add = UnsafePointer(a.p)
        XCTAssertEqual(samq_bf16gemm(SAMQ_ISA_SCALAR, &args), -1, "residual_add without a residual")
        args.residual_add = nil; args.flags = UInt32(SAMQ_SGEMM_B_KN)
        XCTAssertEqual(samq_bf16gemm(SAMQ_ISA_SCALAR, &args), -1, "flags other than GELU")
    }
}
