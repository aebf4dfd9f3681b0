/// Portable f32 GEMM loops, the fallback behind `MatMul` when no C kernel is
/// available. Cache-friendly and vectorizable, not tuned.
///
/// Determinism: every output element is accumulated in the same order no
/// matter which row range a call covers (short row tiles reuse the last valid
/// row instead of switching to a different code path).
enum SwiftGEMM {
    typealias V = SIMD8<Float>

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    /// C = A · Bᵀ with B stored `[n][k]` (PyTorch weight layout).
    static func nk(rows: Range<Int>, cols: Range<Int>, k: Int,
                   a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                   c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue) {
        let kv = k & ~7
        // Column blocks keep a slab of B rows resident in L2 while all row quads pass over it.
        let colBlock = max(4, min(cols.count, (192 * 1024 / 4) / max(k, 1)) & ~3)
        for j0 in stride(from: cols.lowerBound, to: cols.upperBound, by: colBlock) {
            let j1 = min(cols.upperBound, j0 + colBlock)
            var i = rows.lowerBound
            while i < rows.upperBound {
                let rowsHere = min(4, rows.upperBound - i)
                let a0 = a + i * lda
                let a1 = a + (i + min(1, rowsHere - 1)) * lda
                let a2 = a + (i + min(2, rowsHere - 1)) * lda
                let a3 = a + (i + min(3, rowsHere - 1)) * lda
                var j = j0
                while j < j1 {
                    let colsHere = min(4, j1 - j)
                    let b0 = b + j * ldb
                    let b1 = b + (j + min(1, colsHere - 1)) * ldb
                    let b2 = b + (j + min(2, colsHere - 1)) * ldb
                    let b3 = b + (j + min(3, colsHere - 1)) * ldb
                    var c00 = V(), c01 = V(), c02 = V(), c03 = V()
                    var c10 = V(), c11 = V(), c12 = V(), c13 = V()
                    var c20 = V(), c21 = V(), c22 = V(), c23 = V()
                    var c30 = V(), c31 = V(), c32 = V(), c33 = V()
                    var kk = 0
                    while kk < kv {
                        let x0 = load(a0 + kk), x1 = load(a1 + kk), x2 = load(a2 + kk), x3 = load(a3 + kk)
                        let y0 = load(b0 + kk), y1 = load(b1 + kk), y2 = load(b2 + kk), y3 = load(b3 + kk)
                        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3
                        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3
                        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3
                        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3
                        kk += 8
                    }
                    var s = (c00.sum(), c01.sum(), c02.sum(), c03.sum(),
                             c10.sum(), c11.sum(), c12.sum(), c13.sum(),
                             c20.sum(), c21.sum(), c22.sum(), c23.sum(),
                             c30.sum(), c31.sum(), c32.sum(), c33.sum())
                    while kk < k {
                        let x0 = a0[kk], x1 = a1[kk], x2 = a2[kk], x3 = a3[kk]
                        let y0 = b0[kk], y1 = b1[kk], y2 = b2[kk], y3 = b3[kk]
                        s.0 += x0 * y0; s.1 += x0 * y1; s.2 += x0 * y2; s.3 += x0 * y3
                        s.4 += x1 * y0; s.5 += x1 * y1; s.6 += x1 * y2; s.7 += x1 * y3
                        s.8 += x2 * y0; s.9 += x2 * y1; s.10 += x2 * y2; s.11 += x2 * y3
                        s.12 += x3 * y0; s.13 += x3 * y1; s.14 += x3 * y2; s.15 += x3 * y3
                        kk += 1
                    }
                    // A homogeneous tuple is laid out like an array: read it as one.
                    withUnsafeBytes(of: &s) { raw in
                        let tile = raw.bindMemory(to: Float.self)
                        for r in 0..<rowsHere {
                            let out = c + (i + r) * ldc
                            for q in 0..<colsHere {
                                epilogue.store(tile[r * 4 + q], column: j + q, to: out + j + q)
                            }
                        }
                    }
                    j += 4
                }
                i += 4
            }
        }
    }

    /// C = A · B with B stored `[k][n]`.
    static func kn(rows: Range<Int>, cols: Range<Int>, k: Int,
                   a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                   c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue) {
        let n = cols.upperBound
        let nv = cols.lowerBound + (cols.count & ~7)
        var i = rows.lowerBound
        while i < rows.upperBound {
            let rowsHere = min(4, rows.upperBound - i)
            let a0 = a + i * lda
            let a1 = a + (i + min(1, rowsHere - 1)) * lda
            let a2 = a + (i + min(2, rowsHere - 1)) * lda
            let a3 = a + (i + min(3, rowsHere - 1)) * lda
            var j = cols.lowerBound
            while j < nv {
                var c0 = V(), c1 = V(), c2 = V(), c3 = V()
                for kk in 0..<k {
                    let y = load(b + kk * ldb + j)
                    c0 += V(repeating: a0[kk]) * y
                    c1 += V(repeating: a1[kk]) * y
                    c2 += V(repeating: a2[kk]) * y
                    c3 += V(repeating: a3[kk]) * y
                }
                var tile = (c0, c1, c2, c3)
                withUnsafeBytes(of: &tile) { raw in
                    let values = raw.bindMemory(to: Float.self)
                    for r in 0..<rowsHere {
                        let out = c + (i + r) * ldc + j
                        for q in 0..<8 { epilogue.store(values[r * 8 + q], column: j + q, to: out + q) }
                    }
                }
                j += 8
            }
            while j < n {
                var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                for kk in 0..<k {
                    let y = b[kk * ldb + j]
                    s0 += a0[kk] * y; s1 += a1[kk] * y; s2 += a2[kk] * y; s3 += a3[kk] * y
                }
                var tile = (s0, s1, s2, s3)
                withUnsafeBytes(of: &tile) { raw in
                    let values = raw.bindMemory(to: Float.self)
                    for r in 0..<rowsHere { epilogue.store(values[r], column: j, to: c + (i + r) * ldc + j) }
                }
                j += 1
            }
            i += 4
        }
    }
}
