import SAMQFormat

/// The single entry point for every f32 matrix product in the runtime.
///
/// `C[m][n] = epilogue(A[m][k] · B + bias)`, or `C += ...` when `accumulate` is
/// set (the residual add). B is either a PyTorch weight `[n][k]` (`.nk`, so
/// C = A·Bᵀ) or a plain `[k][n]` matrix (`.kn`, e.g. attention P·V).
///
/// Every matmul goes through here so the backing kernel can be swapped (Swift
/// loops today, `samq_sgemm` from CKernels when available) in one place.
enum MatMul {
    enum BLayout { case nk, kn }
    enum Activation { case none, gelu, relu }

    /// Pointer-level product with leading dimensions. Callers guarantee the
    /// buffers hold the rows they describe.
    static func f32(m: Int, n: Int, k: Int,
                    a: UnsafePointer<Float>, lda: Int,
                    b: UnsafePointer<Float>, ldb: Int, layout: BLayout,
                    c: UnsafeMutablePointer<Float>, ldc: Int,
                    bias: UnsafePointer<Float>? = nil,
                    activation: Activation = .none,
                    accumulate: Bool = false,
                    parallel: Bool = true) {
        guard m > 0, n > 0 else { return }
        let kernel = Backend.current
        // Each output element's arithmetic does not depend on the row/column
        // range that computes it (both backends), so results ignore the thread count.
        // A deep [K][N] B (attention P·V over every pixel) is split by columns,
        // so each worker streams its part of B once instead of every worker all of it.
        split(m: m, n: n, k: k, parallel: parallel, byColumns: layout == .kn && k >= 1024) { rows, cols in
            switch kernel {
            case .swift:
                let epilogue = Epilogue(bias: bias, activation: activation, accumulate: accumulate)
                switch layout {
                case .nk:
                    SwiftGEMM.nk(rows: rows, cols: cols, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                                 epilogue: epilogue)
                case .kn:
                    SwiftGEMM.kn(rows: rows, cols: cols, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                                 epilogue: epilogue)
                }
            case .ckernels(let isa):
                CKernelGEMM.run(isa: isa, rows: rows, cols: cols, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                                layout: layout, c: c, ldc: ldc, bias: bias, activation: activation,
                                accumulate: accumulate)
            }
        }
    }

    /// Below this many multiply-adds a linear layer runs on the calling
    /// thread (`linear`, `linearAccumulate`, f32 or f16 weights): these are
    /// the decoder's token-side layers (~7 rows, tens of µs), where a
    /// hand-off to a second thread costs about what it saves, and far more
    /// when the other core is busy (the caller waits for it). The split never
    /// changes an output's arithmetic, so this only moves work between threads.
    static let handOffMACs = 1 << 21

    /// The same product with B a PyTorch weight `[n][k]` stored as IEEE half
    /// bits: the kernels widen each weight exactly, so the result is the f32
    /// product with the widened matrix (same tolerance as `f32`).
    static func f16Weights(m: Int, n: Int, k: Int,
                           a: UnsafePointer<Float>, lda: Int,
                           b: UnsafePointer<UInt16>, ldb: Int,
                           c: UnsafeMutablePointer<Float>, ldc: Int,
                           bias: UnsafePointer<Float>? = nil,
                           activation: Activation = .none,
                           accumulate: Bool = false) {
        guard m > 0, n > 0 else { return }
        let kernel = Backend.current
        // The decoder's token-side layers (~7 rows): see `handOffMACs`.
        split(m: m, n: n, k: k, parallel: m * n * max(k, 1) >= handOffMACs) { rows, cols in
            switch kernel {
            case .swift:
                // The portable fallback (tests): widen this range's weight rows, then the f32 loops.
                var widened = [Float](repeating: 0, count: n * max(k, 1))
                for j in cols {
                    for i in 0..<k { widened[j * k + i] = HalfPrecision.float(fromBits: b[j * ldb + i]) }
                }
                widened.withUnsafeBufferPointer { w in
                    SwiftGEMM.nk(rows: rows, cols: cols, k: k, a: a, lda: lda, b: w.baseAddress!, ldb: max(k, 1),
                                 c: c, ldc: ldc,
                                 epilogue: Epilogue(bias: bias, activation: activation, accumulate: accumulate))
                }
            case .ckernels(let isa):
                CKernelGEMM.run(isa: isa, rows: rows, cols: cols, m: m, n: n, k: k, a: a, lda: lda, b: nil,
                                halfB: b, ldb: ldb, layout: .nk, c: c, ldc: ldc, bias: bias, activation: activation,
                                accumulate: accumulate)
            }
        }
    }

    /// Splits an `m × n` output over the compute threads and runs `body` on each piece.
    private static func split(m: Int, n: Int, k: Int, parallel: Bool, byColumns: Bool = false,
                              _ body: (Range<Int>, Range<Int>) -> Void) {
        let work = m * n * max(k, 1)
        let workers = parallel && work >= 1 << 17 ? ComputeThreads.count : 1
        if workers == 1 {
            body(0..<m, 0..<n)
        } else if m >= 16 * workers && !(byColumns && n >= 32 * workers) {
            // Row split, about four chunks per worker (4-row aligned) so the
            // dynamic scheduler can balance uneven progress.
            let chunkRows = max(16, ((m + 4 * workers - 1) / (4 * workers) + 3) / 4 * 4)
            let chunks = (m + chunkRows - 1) / chunkRows
            Parallel.forEach(tasks: chunks) { t, _ in
                body((t * chunkRows)..<min(m, (t + 1) * chunkRows), 0..<n)
            }
        } else {
            // Few rows (decoder tokens): split the columns in 16-wide blocks.
            let blocks = (n + 15) / 16
            let per = (blocks + 2 * workers - 1) / (2 * workers)
            let chunks = (blocks + per - 1) / per
            Parallel.forEach(tasks: chunks) { t, _ in
                body(0..<m, (t * per * 16)..<min(n, (t + 1) * per * 16))
            }
        }
    }

    /// Array-level `linear` with an f16 weight `[n][k]` (see `f16Weights`).
    static func linear(_ x: [Float], rows m: Int, inFeatures k: Int, halfWeight weight: [UInt16], outFeatures n: Int,
                       bias: [Float]?, activation: Activation = .none) -> [Float] {
        precondition(x.count == m * k && weight.count == n * k && (bias?.count ?? n) == n,
                     "internal linear with inconsistent sizes")
        var out = [Float](repeating: 0, count: m * n)
        guard m > 0, n > 0 else { return out }
        x.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    withOptionalPointer(bias) { bp in
                        f16Weights(m: m, n: n, k: k, a: xp.baseAddress!, lda: k, b: wp.baseAddress!, ldb: k,
                                   c: op.baseAddress!, ldc: n, bias: bp, activation: activation)
                    }
                }
            }
        }
        return out
    }

    /// `out += x · weightᵀ + bias` with an f16 weight.
    static func linearAccumulate(_ x: [Float], rows m: Int, inFeatures k: Int, halfWeight weight: [UInt16],
                                 outFeatures n: Int, bias: [Float]?, into out: inout [Float]) {
        precondition(x.count == m * k && weight.count == n * k && out.count == m * n,
                     "internal linear with inconsistent sizes")
        guard m > 0, n > 0 else { return }
        x.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    withOptionalPointer(bias) { bp in
                        f16Weights(m: m, n: n, k: k, a: xp.baseAddress!, lda: k, b: wp.baseAddress!, ldb: k,
                                   c: op.baseAddress!, ldc: n, bias: bp, accumulate: true)
                    }
                }
            }
        }
    }

    /// Array-level product for a weight in PyTorch layout `[n][k]`.
    static func linear(_ x: [Float], rows m: Int, inFeatures k: Int, weight: [Float], outFeatures n: Int,
                       bias: [Float]?, activation: Activation = .none) -> [Float] {
        precondition(x.count == m * k && weight.count == n * k && (bias?.count ?? n) == n,
                     "internal linear with inconsistent sizes")
        var out = [Float](repeating: 0, count: m * n)
        guard m > 0, n > 0 else { return out }
        x.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    withOptionalPointer(bias) { bp in
                        f32(m: m, n: n, k: k, a: xp.baseAddress!, lda: k, b: wp.baseAddress!, ldb: k,
                            layout: .nk, c: op.baseAddress!, ldc: n, bias: bp, activation: activation,
                            parallel: m * n * max(k, 1) >= handOffMACs)
                    }
                }
            }
        }
        return out
    }

    /// `out += x · weightᵀ + bias`: a linear fused with the residual add that follows it.
    static func linearAccumulate(_ x: [Float], rows m: Int, inFeatures k: Int, weight: [Float], outFeatures n: Int,
                                 bias: [Float]?, into out: inout [Float]) {
        precondition(x.count == m * k && weight.count == n * k && out.count == m * n,
                     "internal linear with inconsistent sizes")
        guard m > 0, n > 0 else { return }
        x.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    withOptionalPointer(bias) { bp in
                        f32(m: m, n: n, k: k, a: xp.baseAddress!, lda: k, b: wp.baseAddress!, ldb: k,
                            layout: .nk, c: op.baseAddress!, ldc: n, bias: bp, accumulate: true,
                            parallel: m * n * max(k, 1) >= handOffMACs)
                    }
                }
            }
        }
    }
}

/// Bias, activation and residual add, applied as each output is stored so the
/// operation order is PyTorch's: `residual + act(A·B + bias)`.
struct Epilogue {
    var bias: UnsafePointer<Float>?
    var activation: MatMul.Activation
    var accumulate: Bool

    @inline(__always)
    func store(_ product: Float, column j: Int, to p: UnsafeMutablePointer<Float>) {
        var v = product
        if let bias { v += bias[j] }
        switch activation {
        case .none: break
        case .gelu: v = Activations.gelu(v)
        case .relu: v = max(v, 0)
        }
        if accumulate { p.pointee = p.pointee + v } else { p.pointee = v }
    }
}
