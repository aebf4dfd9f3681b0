import CKernels

/// Activations fused into an int8 layer's output. GELU runs inside the C
/// epilogue (polynomial, < 2e-7 from exact erf); ReLU is applied right after
/// the tile is written, while it is still in cache.
public enum FusedActivation: Sendable {
    case none, gelu, relu
}

/// `samq_gemm_i8` on one output tile, and the split of a GEMM into tiles.
enum Int8GEMM {
    /// One call of the kernel on rows × columns of the output. Returns the
    /// kernel status (0 on success).
    @inline(__always)
    static func run(isa: KernelISA, m: Int, n: Int, k: Int,
                    a: UnsafePointer<Int8>, lda: Int, rowScales: UnsafePointer<Float>?,
                    weights: UnsafeRawPointer, bias: UnsafePointer<Float>?,
                    residual: UnsafePointer<Float>?, ldr: Int,
                    c: UnsafeMutablePointer<Float>?, ldc: Int, gelu: Bool,
                    rawOutput: UnsafeMutablePointer<Int32>? = nil,
                    rows: Range<Int>, columns: Range<Int>) -> Int32 {
        var args = samq_gemm_args()
        args.M = m; args.N = n; args.K = k
        args.A = a; args.lda = lda
        args.row_scale = rowScales
        args.packed_w = weights
        args.bias = bias
        args.residual = residual; args.ldr = ldr
        args.C = c; args.ldc = ldc
        args.C_i32 = rawOutput
        args.flags = (gelu ? UInt32(SAMQ_GEMM_GELU) : 0) | (rawOutput != nil ? UInt32(SAMQ_GEMM_RAW_I32) : 0)
        args.m_begin = rows.lowerBound; args.m_end = rows.upperBound
        args.n_begin = columns.lowerBound; args.n_end = columns.upperBound
        return samq_gemm_i8(isa.raw, &args)
    }

    @inline(__always)
    static func relu(_ c: UnsafeMutablePointer<Float>, ldc: Int, rows: Range<Int>, columns: Range<Int>) {
        for r in rows {
            let row = c + r * ldc
            for j in columns { row[j] = max(row[j], 0) }
        }
    }
}

/// How a GEMM's output is cut into tasks: row tiles × column panels.
///
/// Rows first (each task then reads the whole weight once from L2/L3 and
/// quantizes its own rows), columns when there are too few rows to feed every
/// thread (decoder tokens). Tile edges never change an output element's
/// arithmetic, so the plan may depend on the thread count.
struct GemmPlan {
    let m: Int
    let n: Int
    let rowTile: Int
    let columnTile: Int
    let rowTiles: Int
    let columnTiles: Int

    var taskCount: Int { rowTiles * columnTiles }

    /// Below this many multiply-adds a GEMM runs on the calling thread: a
    /// dispatch costs about as much as the work.
    static let parallelThreshold = 1 << 20
    static let maxRowTile = 128

    init(m: Int, n: Int, k: Int, threads: Int) {
        self.m = m
        self.n = n
        let paddedN = roundUp(max(n, 1), 16)
        if threads <= 1 || m * n * max(k, 1) < Self.parallelThreshold {
            rowTile = max(m, 1)
            columnTile = paddedN
        } else {
            // Row tiles in multiples of 8 (AVX2's and NEON's 4-row tiles fit;
            // VNNI's 12-row tile leaves an 8-row tail, which runs at about
            // the same rate), aiming at ≥ 4 tasks per thread for load balance.
            let target = 4 * threads
            let tile = roundUp((m + target - 1) / target, 8)
            rowTile = min(max(tile, 8), Self.maxRowTile)
            let tilesDown = (m + rowTile - 1) / rowTile
            if tilesDown >= target {
                columnTile = paddedN
            } else {
                let panels = paddedN / 16
                let wanted = min(panels, (target + tilesDown - 1) / tilesDown)
                columnTile = (panels + wanted - 1) / wanted * 16
            }
        }
        rowTiles = m == 0 ? 0 : (m + rowTile - 1) / rowTile
        columnTiles = (paddedN + columnTile - 1) / columnTile
    }

    @inline(__always)
    func rows(of task: Int) -> Range<Int> {
        let r0 = (task / columnTiles) * rowTile
        return r0..<min(m, r0 + rowTile)
    }

    @inline(__always)
    func columns(of task: Int) -> Range<Int> {
        let c0 = (task % columnTiles) * columnTile
        return c0..<min(n, c0 + columnTile)
    }
}
