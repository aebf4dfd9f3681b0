import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which code computes `MatMul`: the C kernels (`samq_sgemm`, SIMD for the
/// CPU found at run time) or the portable Swift loops.
enum Backend: Equatable {
    case swift
    case ckernels(samq_isa)

    /// The C kernels on the best ISA this CPU supports; `SAMQ_SGEMM=swift` in
    /// the environment selects the Swift loops (for testing the fallback).
    static let current: Backend = {
        if getenv("SAMQ_SGEMM").map({ String(cString: $0) }) == "swift" { return .swift }
        return .ckernels(samq_isa_best())
    }()
}

/// `samq_sgemm` behind the `MatMul` contract.
///
/// GELU uses the kernel's fused epilogue: erf by the Abramowitz–Stegun 7.1.26
/// polynomial, absolute error < 2e-7 against exact erf. That is PyTorch's own
/// float32 CPU method too (ATen's vectorized `erf` is the same approximation),
/// and it keeps GELU off the critical path (151 M evaluations per vit_b encode).
/// ReLU has no kernel flag and is applied right after the product, rows hot in cache.
enum CKernelGEMM {
    /// K chunk of deep `.kn` products (see `run`).
    static let deepChunk = 512

    static func run(isa: samq_isa, rows: Range<Int>, cols: Range<Int>, m: Int, n: Int, k: Int,
                    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>?, halfB: UnsafePointer<UInt16>? = nil,
                    ldb: Int, layout: MatMul.BLayout,
                    c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?,
                    activation: MatMul.Activation, accumulate: Bool) {
        precondition(!(accumulate && activation != .none), "internal: activation before a residual add is not used")
        // A deep [K][N] B (attention P·V over 4096 pixels) runs in K chunks,
        // each added onto the last: a chunk of B stays in cache for every row
        // tile, where one pass over all of K re-streams B per row tile
        // (measured on P·V, 56×256×4096: 19 → 49 GMAC/s on one core). Every
        // output sees the same chunks whatever the row/column range, so
        // results still ignore the thread count.
        if layout == .kn && k > 2 * deepChunk && activation == .none, let b {
            for k0 in stride(from: 0, to: k, by: deepChunk) {
                run(isa: isa, rows: rows, cols: cols, m: m, n: n, k: min(deepChunk, k - k0), a: a + k0, lda: lda,
                    b: b + k0 * ldb, ldb: ldb, layout: .kn, c: c, ldc: ldc, bias: k0 == 0 ? bias : nil,
                    activation: .none, accumulate: accumulate || k0 > 0)
            }
            return
        }
        var args = samq_sgemm_args()
        args.M = m; args.N = n; args.K = k
        args.A = a; args.lda = lda
        args.B = b; args.B_f16 = halfB; args.ldb = ldb
        args.bias = bias
        args.residual = accumulate ? UnsafePointer(c) : nil
        args.ldr = ldc
        args.C = c; args.ldc = ldc
        args.flags = (layout == .kn ? UInt32(SAMQ_SGEMM_B_KN) : 0) | (activation == .gelu ? UInt32(SAMQ_SGEMM_GELU) : 0)
            | (halfB != nil ? UInt32(SAMQ_SGEMM_B_F16) : 0)
        args.m_begin = rows.lowerBound; args.m_end = rows.upperBound
        args.n_begin = cols.lowerBound; args.n_end = cols.upperBound
        let status = samq_sgemm(isa, &args)
        precondition(status == 0, "samq_sgemm rejected internally consistent arguments")
        switch activation {
        case .none, .gelu: break
        case .relu:
            for r in rows {
                let row = c + r * ldc
                for j in cols { row[j] = max(row[j], 0) }
            }
        }
    }
}
