import CKernels
import Foundation
import XCTest

/// Owned, fixed-size C buffer (the kernels take raw pointers).
final class Buf<T> {
    let p: UnsafeMutablePointer<T>
    let count: Int
    init(_ count: Int, _ fill: T) {
        self.count = count
        p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
        p.initialize(repeating: fill, count: max(count, 1))
    }
    deinit { p.deallocate() }
    subscript(i: Int) -> T {
        get { p[i] }
        set { p[i] = newValue }
    }
    var array: [T] { Array(UnsafeBufferPointer(start: p, count: count)) }
}

/// Deterministic xorshift generator so failures reproduce.
struct XorShift {
    var s: UInt64 = 0x2545_F491_4F6C_DD1D
    mutating func next() -> UInt64 {
        s ^= s << 13
        s ^= s >> 7
        s ^= s << 17
        return s
    }
    /// int8 in [-127, 127], a quarter of them exactly +-127 (the maddubs saturation trap).
    mutating func i8() -> Int8 {
        switch next() % 8 {
        case 0: return 127
        case 1: return -127
        default: return Int8(Int(next() % 255) - 127)
        }
    }
    mutating func f() -> Float { Float(Int(next() % 2_000_001) - 1_000_000) / 1_000_000 }
}

func allISAs() -> [samq_isa] { (0 ..< Int(SAMQ_ISA_COUNT)).map { samq_isa(rawValue: UInt32($0)) } }
/// Every SIMD ISA this machine runs (scalar excluded: it is the reference).
func simdISAs() -> [samq_isa] { allISAs().filter { $0 != SAMQ_ISA_SCALAR && samq_isa_supported($0) != 0 } }
func isaName(_ isa: samq_isa) -> String { String(cString: samq_isa_name(isa)) }
func roundUp(_ x: Int, _ m: Int) -> Int { (x + m - 1) / m * m }

/// One int8 GEMM problem with random operands and its packed weights.
final class GemmCase {
    let M, N, K, Kp, lda, ldc: Int
    let A: Buf<Int8>, W: Buf<Int8>, packed: Buf<UInt8>
    let rowScale: Buf<Float>, scale: Buf<Float>, bias: Buf<Float>, residual: Buf<Float>

    init(M: Int, N: Int, K: Int, rng: inout XorShift) {
        self.M = M; self.N = N; self.K = K
        Kp = roundUp(K, 8)
        lda = Kp + (M % 2) * 8
        ldc = N + 3
        A = Buf(M * lda, 0)
        for m in 0 ..< M { for k in 0 ..< K { A[m * lda + k] = rng.i8() } }
        W = Buf(N * K, 0)
        for i in 0 ..< N * K { W[i] = rng.i8() }
        rowScale = Buf(M, 0)
        for m in 0 ..< M { rowScale[m] = (rng.f() + 1.5) * 0.01 }
        scale = Buf(N, 0)
        bias = Buf(N, 0)
        for n in 0 ..< N { scale[n] = (rng.f() + 1.5) * 0.01; bias[n] = rng.f() }
        residual = Buf(M * ldc, 0)
        for i in 0 ..< M * ldc { residual[i] = rng.f() }
        packed = Buf(samq_packed_size(N, K) + 4, 0)
        samq_pack_weights_i8(W.p, scale.p, N, K, packed.p)
    }

    func args(flags: UInt32, bias useBias: Bool = false, residual useRes: Bool = false) -> samq_gemm_args {
        var a = samq_gemm_args()
        a.M = M; a.N = N; a.K = K
        a.A = UnsafePointer(A.p); a.lda = Kp == 0 ? 0 : lda
        a.row_scale = UnsafePointer(rowScale.p)
        a.packed_w = UnsafeRawPointer(packed.p)
        a.bias = useBias ? UnsafePointer(bias.p) : nil
        a.residual = useRes ? UnsafePointer(residual.p) : nil
        a.ldr = ldc; a.ldc = ldc
        a.flags = flags
        a.m_begin = 0; a.m_end = M; a.n_begin = 0; a.n_end = N
        return a
    }

    /// Naive accumulators from the unpacked [N][K] weights.
    func reference() -> [Int32] {
        var out = [Int32](repeating: 0x7EAD_BEEF, count: M * ldc)
        for m in 0 ..< M {
            for n in 0 ..< N {
                var s: Int32 = 0
                for k in 0 ..< K { s += Int32(A[m * lda + k]) * Int32(W[n * K + k]) }
                out[m * ldc + n] = s
            }
        }
        return out
    }

    func runRaw(_ isa: samq_isa) -> [Int32] {
        let c = Buf<Int32>(M * ldc, 0x7EAD_BEEF)
        var a = args(flags: UInt32(SAMQ_GEMM_RAW_I32))
        a.C_i32 = c.p
        XCTAssertEqual(samq_gemm_i8(isa, &a), 0)
        return c.array
    }

    func runF32(_ isa: samq_isa, flags: UInt32, bias: Bool, residual: Bool) -> [UInt32] {
        let c = Buf<Float>(M * ldc, -12345.5)
        var a = args(flags: flags, bias: bias, residual: residual)
        a.C = c.p
        XCTAssertEqual(samq_gemm_i8(isa, &a), 0)
        return c.array.map(\.bitPattern)
    }
}

final class CKernelsTests: XCTestCase {
    let Ms = [0, 1, 3, 5, 17]
    let Ks = [0, 1, 3, 7, 8, 13, 64, 100, 257]
    let Ns = [0, 1, 15, 16, 17, 33, 100]

    func testDispatchNames() {
        XCTAssertEqual(samq_isa_supported(SAMQ_ISA_SCALAR), 1)
        XCTAssertEqual(samq_isa_supported(samq_isa_best()), 1)
        for isa in allISAs() {
            XCTAssertEqual(samq_isa_from_name(samq_isa_name(isa)), Int32(isa.rawValue))
        }
        for isa in allISAs() { XCTAssertGreaterThanOrEqual(samq_gemm_i8_row_tile(isa), 1) }
        XCTAssertEqual(samq_isa_from_name("nope"), -1)
        XCTAssertEqual(samq_isa_from_name(nil), -1)
        #if arch(x86_64)
        XCTAssertEqual(samq_isa_supported(SAMQ_ISA_NEON), 0)
        #elseif arch(arm64)
        XCTAssertEqual(samq_isa_supported(SAMQ_ISA_NEON), 1)
        XCTAssertEqual(samq_isa_supported(SAMQ_ISA_AVX2), 0)
        #endif
        print("CKernels: best ISA \(isaName(samq_isa_best())); SIMD: \(simdISAs().map(isaName))")
    }

    func testPackerMatchesNaiveLayout() {
        var rng = XorShift()
        for N in Ns {
            for K in Ks {
                let c = GemmCase(M: 0, N: N, K: K, rng: &rng)
                let Np = roundUp(N, 16), Kp = roundUp(K, 8)
                XCTAssertEqual(samq_packed_size(N, K), Np * Kp + 8 * Np)
                var ok = true
                for n in 0 ..< Np {
                    var sum: Int32 = 0
                    for k in 0 ..< Kp {
                        let expect: Int8 = (n < N && k < K) ? c.W[n * K + k] : 0
                        let off = (n / 16) * Kp * 16 + (k / 4) * 64 + (n % 16) * 4 + k % 4
                        if Int8(bitPattern: c.packed[off]) != expect { ok = false }
                        sum += Int32(expect)
                    }
                    let raw = UnsafeRawPointer(c.packed.p)
                    let s = raw.loadUnaligned(fromByteOffset: Np * Kp + 4 * n, as: Float.self)
                    let cs = raw.loadUnaligned(fromByteOffset: Np * Kp + 4 * Np + 4 * n, as: Int32.self)
                    if s != (n < N ? c.scale[n] : 0) || cs != sum { ok = false }
                }
                XCTAssertTrue(ok, "packed layout N=\(N) K=\(K)")
            }
        }
    }

    /// Panel-at-a-time packing of quantized rows (with ldq padding) writes
    /// the same bytes as the whole-matrix reference packer.
    func testPanelPackingMatchesWholeMatrixPacker() {
        var rng = XorShift()
        for N in Ns {
            for K in Ks {
                let c = GemmCase(M: 0, N: N, K: K, rng: &rng)
                let Kp = roundUp(K, 8), ldq = Kp + 8
                let rows = Buf<Int8>(max(1, N * ldq), 0)
                for n in 0 ..< N { for k in 0 ..< K { rows[n * ldq + k] = c.W[n * K + k] } }
                let out = Buf<UInt8>(samq_packed_size(N, K), 0xA5)
                for panel in 0 ..< roundUp(N, 16) / 16 {
                    let count = max(0, min(16, N - panel * 16))
                    samq_pack_panel_i8(rows.p + panel * 16 * ldq, ldq, c.scale.p + panel * 16, count, N, K, panel,
                                       out.p)
                }
                XCTAssertEqual(out.array, Array(c.packed.array.prefix(out.count)), "N=\(N) K=\(K)")
            }
        }
    }

    func testInt8AccumulatorsBitExact() {
        var rng = XorShift()
        for M in Ms {
            for K in Ks {
                for N in Ns {
                    let c = GemmCase(M: M, N: N, K: K, rng: &rng)
                    let ref = c.reference()
                    XCTAssertEqual(c.runRaw(SAMQ_ISA_SCALAR), ref, "scalar M=\(M) N=\(N) K=\(K)")
                    for isa in simdISAs() {
                        XCTAssertEqual(c.runRaw(isa), ref, "\(isaName(isa)) M=\(M) N=\(N) K=\(K)")
                    }
                }
            }
        }
    }

    /// Every row-tail size of the widest micro-tile (VNNI: 12 rows) and K
    /// long enough to cross the kernels' K chunks (VNNI: 1024), where partial
    /// accumulators round-trip through memory. Bit-exact against the naive sum.
    func testInt8RowTailsAndLongK() {
        var rng = XorShift()
        var shapes = (1 ... 25).map { (M: $0, N: 40, K: 37) }
        shapes += [(M: 13, N: 33, K: 2100), (M: 25, N: 17, K: 1032), (M: 3, N: 100, K: 1024)]
        for (M, N, K) in shapes {
            let c = GemmCase(M: M, N: N, K: K, rng: &rng)
            let ref = c.reference()
            for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                XCTAssertEqual(c.runRaw(isa), ref, "\(isaName(isa)) M=\(M) N=\(N) K=\(K)")
            }
            let f32 = c.runF32(SAMQ_ISA_SCALAR, flags: UInt32(SAMQ_GEMM_GELU), bias: true, residual: true)
            for isa in simdISAs() {
                XCTAssertEqual(c.runF32(isa, flags: UInt32(SAMQ_GEMM_GELU), bias: true, residual: true), f32,
                               "\(isaName(isa)) epilogue M=\(M) N=\(N) K=\(K)")
            }
        }
    }

    func testInt8EpilogueIdenticalAcrossISAs() {
        var rng = XorShift()
        for M in [1, 5, 17] {
            for K in [1, 13, 257] {
                for N in [1, 17, 33, 100] {
                    let c = GemmCase(M: M, N: N, K: K, rng: &rng)
                    let acc = c.reference()
                    for mode in 0 ..< 8 {
                        let flags = mode & 4 != 0 ? UInt32(SAMQ_GEMM_GELU) : 0
                        let ref = c.runF32(SAMQ_ISA_SCALAR, flags: flags, bias: mode & 1 != 0, residual: mode & 2 != 0)
                        // the scalar epilogue against the formula in double (exact-erf GELU)
                        var worst = 0.0
                        for m in 0 ..< M {
                            for n in 0 ..< N {
                                var y = Double(acc[m * c.ldc + n]) * Double(c.rowScale[m]) * Double(c.scale[n])
                                if mode & 1 != 0 { y += Double(c.bias[n]) }
                                if mode & 4 != 0 { y = 0.5 * y * (1 + erf(y / 2.0.squareRoot())) }
                                if mode & 2 != 0 { y += Double(c.residual[m * c.ldc + n]) }
                                let got = Double(Float(bitPattern: ref[m * c.ldc + n]))
                                worst = max(worst, abs(got - y) / max(1, abs(y)))
                            }
                        }
                        XCTAssertLessThan(worst, 1e-5, "scalar epilogue mode \(mode)")
                        for isa in simdISAs() {
                            let got = c.runF32(isa, flags: flags, bias: mode & 1 != 0, residual: mode & 2 != 0)
                            XCTAssertEqual(got, ref, "\(isaName(isa)) epilogue mode \(mode) M=\(M) N=\(N) K=\(K)")
                        }
                    }
                }
            }
        }
    }

    func testGeluPolynomialBound() {
        var worst = 0.0
        var y: Float = -20
        while y <= 20 {
            let exact = 0.5 * Double(y) * (1 + erf(Double(y) / 2.0.squareRoot()))
            worst = max(worst, abs(Double(samq_gelu(y)) - exact) / max(1, abs(Double(y))))
            y += 0.00037
        }
        XCTAssertLessThan(worst, 2e-7)
    }

    func testTilesComposeToOneCall() {
        var rng = XorShift()
        for (M, N, K) in [(17, 100, 257), (9, 300, 40)] {
            let c = GemmCase(M: M, N: N, K: K, rng: &rng)
            for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                let full = Buf<Float>(M * c.ldc, 0)
                var a = c.args(flags: UInt32(SAMQ_GEMM_GELU), bias: true, residual: true)
                a.C = full.p
                XCTAssertEqual(samq_gemm_i8(isa, &a), 0)
                let part = Buf<Float>(M * c.ldc, 0)
                let mCuts = [0, 2, 7, M], nCuts = [0, 16, 64, N]
                for i in 0 ..< 3 {
                    for j in 0 ..< 3 {
                        var b = a
                        b.C = part.p
                        b.m_begin = mCuts[i]; b.m_end = mCuts[i + 1]
                        b.n_begin = nCuts[j]; b.n_end = nCuts[j + 1]
                        XCTAssertEqual(samq_gemm_i8(isa, &b), 0)
                    }
                }
                XCTAssertEqual(full.array.map(\.bitPattern), part.array.map(\.bitPattern), "\(isaName(isa)) split")
                // a residual that aliases the output (in-place x += f(x))
                let inPlace = Buf<Float>(M * c.ldc, 0)
                for i in 0 ..< M * c.ldc { inPlace[i] = c.residual[i] }
                var d = a
                d.C = inPlace.p
                d.residual = UnsafePointer(inPlace.p)
                XCTAssertEqual(samq_gemm_i8(isa, &d), 0)
                for m in 0 ..< M {
                    for n in 0 ..< N {
                        XCTAssertEqual(inPlace[m * c.ldc + n].bitPattern, full[m * c.ldc + n].bitPattern)
                    }
                }
            }
        }
    }

    /// Tiles run concurrently from many threads (as the Swift pool will) give the
    /// single-call result: the kernels keep no shared mutable state.
    func testConcurrentTiles() {
        var rng = XorShift()
        let c = GemmCase(M: 61, N: 200, K: 300, rng: &rng)
        for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
            let full = Buf<Float>(c.M * c.ldc, 0), part = Buf<Float>(c.M * c.ldc, 0)
            var a = c.args(flags: UInt32(SAMQ_GEMM_GELU), bias: true)
            a.C = full.p
            XCTAssertEqual(samq_gemm_i8(isa, &a), 0)
            let rowTile = samq_gemm_i8_row_tile(isa)
            let rowBlocks = (c.M + rowTile - 1) / rowTile, colBlocks = (c.N + 15) / 16
            let template = a, out = part.p
            DispatchQueue.concurrentPerform(iterations: rowBlocks * colBlocks) { t in
                var b = template
                b.C = out
                b.m_begin = (t / colBlocks) * rowTile
                b.m_end = min(b.m_begin + rowTile, c.M)
                b.n_begin = (t % colBlocks) * 16
                b.n_end = min(b.n_begin + 16, c.N)
                precondition(samq_gemm_i8(isa, &b) == 0)
            }
            XCTAssertEqual(full.array.map(\.bitPattern), part.array.map(\.bitPattern), "\(isaName(isa)) concurrent")
        }
    }

    func testInvalidArgumentsRejected() {
        var rng = XorShift()
        let c = GemmCase(M: 4, N: 40, K: 24, rng: &rng)
        let out = Buf<Float>(4 * c.ldc, 0)
        var a = c.args(flags: 0)
        a.C = out.p
        var b = a; b.n_begin = 8
        XCTAssertEqual(samq_gemm_i8(SAMQ_ISA_SCALAR, &b), -1)
        b = a; b.n_end = 20
        XCTAssertEqual(samq_gemm_i8(SAMQ_ISA_SCALAR, &b), -1)
        b = a; b.m_end = 5
        XCTAssertEqual(samq_gemm_i8(SAMQ_ISA_SCALAR, &b), -1)
        b = a; b.lda = 16
        XCTAssertEqual(samq_gemm_i8(SAMQ_ISA_SCALAR, &b), -1)
        XCTAssertEqual(samq_gemm_i8(samq_isa(rawValue: 77), &a), -1)
        for isa in allISAs() where samq_isa_supported(isa) == 0 {
            XCTAssertEqual(samq_gemm_i8(isa, &a), -1, "unsupported \(isaName(isa)) must be refused")
        }
    }

    func testQuantizeRowsIdentical() {
        var rng = XorShift()
        for K in [0, 1, 3, 7, 8, 13, 16, 17, 64, 100, 257] {
            let M = 7, ldx = K + 3, Kp = roundUp(K, 8), ldq = Kp + 5
            let x = Buf<Float>(M * ldx, 0)
            for i in 0 ..< M * ldx { x[i] = rng.f() * 10 }
            for k in 0 ..< K {
                x[1 * ldx + k] = 0                               // all-zero row
                x[3 * ldx + k] = k % 2 == 0 ? .nan : -.infinity  // no finite values
                x[4 * ldx + k] = .leastNonzeroMagnitude * Float(k + 1)  // denormals only
            }
            if K >= 4 { x[2 * ldx] = .nan; x[2 * ldx + 1] = .infinity; x[2 * ldx + 2] = -.infinity }
            if K >= 4 { x[5 * ldx] = 127; x[5 * ldx + 1] = 2.5; x[5 * ldx + 2] = -2.5; x[5 * ldx + 3] = 3.5 }
            let q0 = Buf<Int8>(M * ldq, 0x5A), s0 = Buf<Float>(M, -1)
            samq_quantize_rows(SAMQ_ISA_SCALAR, x.p, M, K, ldx, q0.p, ldq, s0.p)
            for m in 0 ..< M {
                for k in K ..< Kp { XCTAssertEqual(q0[m * ldq + k], 0, "pad zeroed") }
                for k in Kp ..< ldq { XCTAssertEqual(q0[m * ldq + k], 0x5A, "beyond Kp untouched") }
            }
            if K >= 1 {
                XCTAssertEqual(s0[1], 0); XCTAssertEqual(s0[3], 0); XCTAssertEqual(s0[4], 0)
            }
            if K >= 4 { // the row keeps finite values from k = 3 on
                XCTAssertEqual(q0[2 * ldq], 0, "NaN -> 0")
                XCTAssertEqual(q0[2 * ldq + 1], 127, "+inf -> 127")
                XCTAssertEqual(q0[2 * ldq + 2], -127, "-inf -> -127")
            }
            if K >= 4 {
                XCTAssertEqual([q0[5 * ldq], q0[5 * ldq + 1], q0[5 * ldq + 2], q0[5 * ldq + 3]], [127, 2, -2, 4],
                               "round half to even")
            }
            for isa in simdISAs() {
                let q1 = Buf<Int8>(M * ldq, 0x5A), s1 = Buf<Float>(M, -1)
                samq_quantize_rows(isa, x.p, M, K, ldx, q1.p, ldq, s1.p)
                XCTAssertEqual(q1.array, q0.array, "\(isaName(isa)) K=\(K)")
                XCTAssertEqual(s1.array.map(\.bitPattern), s0.array.map(\.bitPattern), "\(isaName(isa)) scales K=\(K)")
            }
        }
    }

    /// Softmax fused with P's int8 code: the exact math within one code step
    /// and 3e-3 on the scale, and every SIMD ISA byte-identical to scalar, on
    /// odd key counts (tails of every lane width), masked (−inf), NaN and
    /// degenerate rows. (aarch64: Tests/CKernelsC/kernel_test.c under qemu.)
    func testSoftmaxQ8Identical() {
        var rng = XorShift()
        for n in [0, 1, 3, 7, 15, 16, 17, 33, 196, 4099] {
            let rows = 5, lds = n + 3, padded = roundUp(n, 8), ldq = padded + 5
            let s = Buf<Float>(rows * lds, 0)
            for i in 0 ..< rows * lds { s[i] = rng.f() * 8 }
            for j in 0 ..< n {
                if j % 3 == 0 { s[1 * lds + j] = -.infinity }   // masked keys
                s[2 * lds + j] = .nan                            // nothing finite
                s[3 * lds + j] = -300 * Float(j % 4)             // below the exponent floor
            }
            if n >= 2 { s[4 * lds + 1] = .infinity }             // +inf max: degenerate
            let q0 = Buf<Int8>(rows * ldq, 0x5A), s0 = Buf<Float>(rows, -1)
            samq_softmax_q8_rows(SAMQ_ISA_SCALAR, s.p, rows, n, lds, q0.p, ldq, padded, s0.p)
            for r in 0 ..< rows {
                for j in n ..< padded { XCTAssertEqual(q0[r * ldq + j], 0, "pad zeroed") }
                for j in padded ..< ldq { XCTAssertEqual(q0[r * ldq + j], 0x5A, "beyond the pad untouched") }
                let row = (0 ..< n).map { s[r * lds + $0] }
                let m = row.filter { !$0.isNaN }.max() ?? -.infinity
                guard m.isFinite else {
                    XCTAssertEqual(s0[r], 0, "degenerate row \(r) n=\(n)")
                    for j in 0 ..< n { XCTAssertEqual(q0[r * ldq + j], 0) }
                    continue
                }
                var sum = 0.0
                for j in 0 ..< n {
                    let e = row[j].isNaN ? 0 : Foundation.exp2(Double(row[j]) - Double(m))
                    sum += e
                    XCTAssertLessThanOrEqual(abs(Double(q0[r * ldq + j]) - ((254 * e).rounded() - 127)), 1, "row \(r) key \(j)")
                }
                XCTAssertEqual(Double(s0[r]) * 254 * sum, 1, accuracy: 3e-3, "scale of row \(r) n=\(n)")
            }
            for isa in simdISAs() {
                let q1 = Buf<Int8>(rows * ldq, 0x5A), s1 = Buf<Float>(rows, -1)
                samq_softmax_q8_rows(isa, s.p, rows, n, lds, q1.p, ldq, padded, s1.p)
                XCTAssertEqual(q1.array, q0.array, "\(isaName(isa)) n=\(n)")
                XCTAssertEqual(s1.array.map(\.bitPattern), s0.array.map(\.bitPattern), "\(isaName(isa)) scales n=\(n)")
            }
        }
    }

    /// f16 weights (SAMQ_SGEMM_B_F16) on every ISA: within the f32 tolerance
    /// of a double reference on the exactly widened weights, on odd shapes
    /// (rows 1–9 around the 8-row tile, K and N off every tile, K = 0, N = 0).
    func testHalfWeightSgemmWithinTolerance() {
        var rng = XorShift()
        for M in [0, 1, 2, 3, 5, 7, 8, 9, 17] {
            for K in [0, 1, 7, 13, 16, 17, 64, 257] {
                for N in [0, 1, 2, 15, 16, 17, 33, 100] {
                    let lda = K + 1, ldb = K + 3, ldc = N + 1
                    let A = Buf<Float>(M * lda, 0), B = Buf<UInt16>(N * ldb, 0), res = Buf<Float>(M * ldc, 0)
                    let bias = Buf<Float>(N, 0)
                    for i in 0 ..< A.count { A[i] = rng.f() }
                    // Random halves in ±[2^-6, 4), with some zeros and subnormals.
                    for i in 0 ..< B.count {
                        let r = rng.next()
                        B[i] = r % 13 == 0 ? UInt16(truncatingIfNeeded: r >> 8) & 0x83FF
                            : UInt16(truncatingIfNeeded: (r >> 13) & 1) << 15 | UInt16(9 + (r >> 5) % 8) << 10
                              | UInt16(truncatingIfNeeded: r >> 16) & 0x3FF
                    }
                    for i in 0 ..< N { bias[i] = rng.f() }
                    for i in 0 ..< res.count { res[i] = rng.f() }
                    var ref = [Double](repeating: 0, count: M * ldc), mag = ref
                    for m in 0 ..< M {
                        for n in 0 ..< N {
                            var s = Double(bias[n]), g = abs(Double(bias[n]))
                            for k in 0 ..< K {
                                let p = Double(A[m * lda + k]) * Double(samq_f16_to_f32(B[n * ldb + k]))
                                s += p; g += abs(p)
                            }
                            s += Double(res[m * ldc + n]); g += abs(Double(res[m * ldc + n]))
                            ref[m * ldc + n] = s; mag[m * ldc + n] = g
                        }
                    }
                    for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                        let C = Buf<Float>(M * ldc, .nan)
                        var a = samq_sgemm_args()
                        a.M = M; a.N = N; a.K = K
                        a.A = UnsafePointer(A.p); a.lda = lda; a.B_f16 = UnsafePointer(B.p); a.ldb = ldb
                        a.bias = UnsafePointer(bias.p); a.residual = UnsafePointer(res.p); a.ldr = ldc
                        a.C = C.p; a.ldc = ldc
                        a.flags = UInt32(SAMQ_SGEMM_B_F16)
                        a.m_end = M; a.n_end = N
                        XCTAssertEqual(samq_sgemm(isa, &a), 0)
                        var ok = true
                        for m in 0 ..< M {
                            for n in 0 ..< N
                            where !(abs(Double(C[m * ldc + n]) - ref[m * ldc + n]) <= 1e-5 * (mag[m * ldc + n] + 1e-3)) {
                                ok = false
                            }
                        }
                        XCTAssertTrue(ok, "f16 sgemm \(isaName(isa)) M=\(M) N=\(N) K=\(K)")
                        if M > 0 && N > 0 {   // empty ranges are no-ops before any check
                            var kn = a
                            kn.flags |= UInt32(SAMQ_SGEMM_B_KN)
                            XCTAssertEqual(samq_sgemm(isa, &kn), -1, "f16 weights in [K][N] layout are rejected")
                        }
                    }
                }
            }
        }
    }

    /// Every finite half widens to its exact value.
    func testHalfToFloatExact() {
        for h in 0 ... 0xFFFF {
            let bits = UInt16(h), exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF
            guard exponent != 0x1F else { continue }
            var value = exponent == 0 ? Double(mantissa) * 0x1p-24 : Double(1024 + mantissa) * pow(2, Double(exponent) - 25)
            if h & 0x8000 != 0 { value = -value }
            XCTAssertEqual(Double(samq_f16_to_f32(bits)), value, "half \(h)")
        }
    }

    /// The vector GELU gives the scalar epilogue's bits on every ISA, any length.
    func testGeluInPlaceMatchesScalarBits() {
        var rng = XorShift()
        for n in [0, 1, 3, 4, 7, 8, 15, 16, 17, 100] {
            let x = (0 ..< n).map { _ in rng.f() * Float(1 + rng.next() % 10) }
            let expected = x.map { samq_gelu($0).bitPattern }
            for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                var y = x + [-12345.5]
                y.withUnsafeMutableBufferPointer { samq_gelu_inplace(isa, $0.baseAddress, n) }
                XCTAssertEqual(y.prefix(n).map(\.bitPattern), expected, "gelu \(isaName(isa)) n=\(n)")
                XCTAssertEqual(y[n], -12345.5, "nothing written past n")
            }
        }
    }

    func testSgemmWithinTolerance() {
        var rng = XorShift()
        for M in Ms {
            for K in [0, 1, 7, 13, 64, 257] {
                for N in Ns {
                    for kn in [false, true] {
                        let lda = K + 1, ldb = kn ? N + 2 : K + 3, ldc = N + 1
                        let A = Buf<Float>(M * lda, 0), B = Buf<Float>((kn ? K : N) * ldb, 0)
                        let bias = Buf<Float>(N, 0), res = Buf<Float>(M * ldc, 0)
                        for i in 0 ..< A.count { A[i] = rng.f() }
                        for i in 0 ..< B.count { B[i] = rng.f() }
                        for i in 0 ..< N { bias[i] = rng.f() }
                        for i in 0 ..< res.count { res[i] = rng.f() }
                        var ref = [Double](repeating: 0, count: M * ldc), mag = ref
                        for m in 0 ..< M {
                            for n in 0 ..< N {
                                var s = 0.0, g = 0.0
                                for k in 0 ..< K {
                                    let p = Double(A[m * lda + k]) * Double(kn ? B[k * ldb + n] : B[n * ldb + k])
                                    s += p; g += abs(p)
                                }
                                s += Double(bias[n]); g += abs(Double(bias[n]))
                                s = 0.5 * s * (1 + erf(s / 2.0.squareRoot()))
                                s += Double(res[m * ldc + n]); g += abs(Double(res[m * ldc + n]))
                                ref[m * ldc + n] = s; mag[m * ldc + n] = g
                            }
                        }
                        for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                            let C = Buf<Float>(M * ldc, .nan)
                            var a = samq_sgemm_args()
                            a.M = M; a.N = N; a.K = K
                            a.A = UnsafePointer(A.p); a.lda = lda; a.B = UnsafePointer(B.p); a.ldb = ldb
                            a.bias = UnsafePointer(bias.p); a.residual = UnsafePointer(res.p); a.ldr = ldc
                            a.C = C.p; a.ldc = ldc
                            a.flags = UInt32(SAMQ_SGEMM_GELU) | (kn ? UInt32(SAMQ_SGEMM_B_KN) : 0)
                            a.m_end = M; a.n_end = N
                            XCTAssertEqual(samq_sgemm(isa, &a), 0)
                            var ok = true
                            for m in 0 ..< M {
                                for n in 0 ..< N
                                where !(abs(Double(C[m * ldc + n]) - ref[m * ldc + n]) <= 1e-5 * (mag[m * ldc + n] + 1e-3)) {
                                    ok = false
                                }
                            }
                            XCTAssertTrue(ok, "sgemm \(isaName(isa)) kn=\(kn) M=\(M) N=\(N) K=\(K)")
                        }
                    }
                }
            }
        }
    }

    /// Deep [K][N] products (attention P·V: K = 4096 pixels, the decoder's
    /// shapes among them): against the double reference, and any row or
    /// column range gives the bits of the whole product (the property every
    /// parallel split relies on), across row tiles and column blocks.
    func testDeepKnSgemmWithinToleranceAndRangeIndependent() {
        var rng = XorShift()
        for (M, N, K) in [(1, 16, 600), (9, 33, 1300), (70, 100, 1025), (56, 256, 4096)] {
            let lda = K + 3, ldb = N + 1, ldc = N + 2
            let A = Buf<Float>(M * lda, 0), B = Buf<Float>(K * ldb, 0), bias = Buf<Float>(N, 0), res = Buf<Float>(M * ldc, 0)
            for i in 0 ..< A.count { A[i] = rng.f() }
            for i in 0 ..< B.count { B[i] = rng.f() }
            for i in 0 ..< N { bias[i] = rng.f() }
            for i in 0 ..< res.count { res[i] = rng.f() }
            for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                func product(rows: Range<Int>, cols: Range<Int>, into C: Buf<Float>) {
                    var a = samq_sgemm_args()
                    a.M = M; a.N = N; a.K = K
                    a.A = UnsafePointer(A.p); a.lda = lda; a.B = UnsafePointer(B.p); a.ldb = ldb
                    a.bias = UnsafePointer(bias.p); a.residual = UnsafePointer(res.p); a.ldr = ldc
                    a.C = C.p; a.ldc = ldc
                    a.flags = UInt32(SAMQ_SGEMM_B_KN)
                    a.m_begin = rows.lowerBound; a.m_end = rows.upperBound
                    a.n_begin = cols.lowerBound; a.n_end = cols.upperBound
                    XCTAssertEqual(samq_sgemm(isa, &a), 0)
                }
                let whole = Buf<Float>(M * ldc, .nan), pieces = Buf<Float>(M * ldc, .nan)
                product(rows: 0 ..< M, cols: 0 ..< N, into: whole)
                let mSplit = M / 3, nSplit = N / 2 + 1
                for rows in [0 ..< mSplit, mSplit ..< M] {
                    for cols in [0 ..< nSplit, nSplit ..< N] { product(rows: rows, cols: cols, into: pieces) }
                }
                var worst = 0.0, sameBits = true
                for m in 0 ..< M {
                    for n in 0 ..< N {
                        var s = Double(bias[n]) + Double(res[m * ldc + n]), g = abs(s)
                        for k in 0 ..< K {
                            let p = Double(A[m * lda + k]) * Double(B[k * ldb + n])
                            s += p; g += abs(p)
                        }
                        worst = max(worst, abs(Double(whole[m * ldc + n]) - s) / (g + 1e-3))
                        if whole[m * ldc + n].bitPattern != pieces[m * ldc + n].bitPattern { sameBits = false }
                    }
                }
                XCTAssertLessThanOrEqual(worst, 1e-5, "deep kn sgemm \(isaName(isa)) M=\(M) N=\(N) K=\(K)")
                XCTAssertTrue(sameBits, "deep kn sgemm \(isaName(isa)) M=\(M) N=\(N) K=\(K): ranges change bits")
            }
        }
    }

    /// Every output of `samq_sgemm` has the bits of the whole product
    /// whichever rows and columns a call covers: row tails (1-3 rows of the
    /// decoder's token products, computed by row-sized tiles) and narrow
    /// [K][N] column ranges (16 columns: the per-head P·V) against the same
    /// rows inside full tiles, both layouts.
    func testSgemmRowTailsAndNarrowColumnsKeepBits() {
        var rng = XorShift()
        for (M, N, K) in [(9, 16, 16), (8, 40, 32), (7, 17, 37), (3, 68, 256), (11, 5, 1)] {
            for kn in [false, true] {
                let lda = K + 1, ldb = kn ? N + 2 : K + 3, ldc = N + 1
                let A = Buf<Float>(M * lda, 0), B = Buf<Float>((kn ? K : N) * ldb, 0), bias = Buf<Float>(N, 0)
                for i in 0 ..< A.count { A[i] = rng.f() }
                for i in 0 ..< B.count { B[i] = rng.f() }
                for i in 0 ..< N { bias[i] = rng.f() }
                for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                    func product(rows: Range<Int>, cols: Range<Int>, into C: Buf<Float>) {
                        var a = samq_sgemm_args()
                        a.M = M; a.N = N; a.K = K
                        a.A = UnsafePointer(A.p); a.lda = lda; a.B = UnsafePointer(B.p); a.ldb = ldb
                        a.bias = UnsafePointer(bias.p); a.C = C.p; a.ldc = ldc
                        a.flags = kn ? UInt32(SAMQ_SGEMM_B_KN) : 0
                        a.m_begin = rows.lowerBound; a.m_end = rows.upperBound
                        a.n_begin = cols.lowerBound; a.n_end = cols.upperBound
                        XCTAssertEqual(samq_sgemm(isa, &a), 0)
                    }
                    let whole = Buf<Float>(M * ldc, .nan)
                    product(rows: 0 ..< M, cols: 0 ..< N, into: whole)
                    // Each row alone, then rows in threes; columns in 16-wide ranges.
                    let single = Buf<Float>(M * ldc, .nan), triples = Buf<Float>(M * ldc, .nan)
                    for r in 0 ..< M { product(rows: r ..< r + 1, cols: 0 ..< N, into: single) }
                    for r in stride(from: 0, to: M, by: 3) {
                        for c in stride(from: 0, to: N, by: 16) {
                            product(rows: r ..< min(M, r + 3), cols: c ..< min(N, c + 16), into: triples)
                        }
                    }
                    var same = true
                    for m in 0 ..< M {
                        for n in 0 ..< N {
                            let bits = whole[m * ldc + n].bitPattern
                            if single[m * ldc + n].bitPattern != bits || triples[m * ldc + n].bitPattern != bits {
                                same = false
                            }
                        }
                    }
                    XCTAssertTrue(same, "sgemm \(isaName(isa)) kn=\(kn) M=\(M) N=\(N) K=\(K): tiles change bits")
                }
            }
        }
    }

    func testPeakLoopCountsMACs() {
        for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
            XCTAssertGreaterThan(samq_peak_i8(isa, 1000), 0, isaName(isa))
        }
        for isa in allISAs() where samq_isa_supported(isa) == 0 {
            XCTAssertEqual(samq_peak_i8(isa, 1000), 0)
        }
    }

    /// The aarch64 kernels, cross-compiled and run under qemu-user on three CPU
    /// models (NEON, dotprod, i8mm). Requires gcc-aarch64-linux-gnu and qemu-user;
    /// missing tools fail the test when CI is set and skip it otherwise.
    func testARMKernelsUnderQEMU() throws {
        #if os(Linux) && arch(x86_64)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/test-arm-kernels.sh").path
        let tools = ["aarch64-linux-gnu-gcc", "qemu-aarch64"]
        let missing = tools.filter { tool in
            !(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").contains {
                FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
            }
        }
        if !missing.isEmpty {
            let msg = "missing \(missing.joined(separator: ", ")); apt-get install gcc-aarch64-linux-gnu qemu-user"
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail(msg); return }
            throw XCTSkip(msg)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let out = String(decoding: data, as: UTF8.self)
        print(out)
        XCTAssertEqual(p.terminationStatus, 0, out)
        XCTAssertTrue(out.contains("qemu -cpu cortex-a53 ran neon"), out)
        XCTAssertTrue(out.contains("qemu -cpu cortex-a76 ran dotprod"), out)
        XCTAssertTrue(out.contains("qemu -cpu max ran i8mm"), out)
        XCTAssertTrue(out.contains(" 0 failed"), out)
        #else
        throw XCTSkip("the qemu cross-test runs on x86_64 Linux hosts")
        #endif
    }
}
