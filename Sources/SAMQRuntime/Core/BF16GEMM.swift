import CKernels

/// A `[K][N]` f32 matrix rounded to bf16 and packed in pairs along K, the
/// right-hand operand of `samq_bf16gemm` (see `AttentionProductPrecision`).
struct BF16PackedMatrix {
    let rows: Int
    let columns: Int
    /// `[ceil(rows/2)][columns]` words: row 2j in the low half, 2j+1 in the high.
    let words: [UInt32]

    init(packing values: UnsafePointer<Float>, rows: Int, columns: Int, ld: Int) {
        precondition(rows >= 0 && columns >= 0 && ld >= columns, "internal: bf16 matrix shape")
        self.rows = rows
        self.columns = columns
        words = [UInt32](unsafeUninitializedCapacity: (rows + 1) / 2 * columns) { buffer, count in
            samq_bf16_pack_kn(values, rows, columns, ld, buffer.baseAddress, columns)
            count = buffer.count
        }
    }
}

enum BF16GEMM {
    /// `c[r][n] = Σ_k bf16(a[r][k])·b[k][n] + bias[n] (+ residual[r][n] (+ residualAdd[n]))`
    /// for `rows` and every column of `b` (the `samq_sgemm` epilogue; the
    /// residual may be `c` itself). The same bits for any split of the rows.
    static func run(isa: KernelISA, rows: Range<Int>, a: UnsafePointer<Float>, lda: Int, b: BF16PackedMatrix,
                    c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?,
                    residual: UnsafePointer<Float>?, ldr: Int, residualAdd: UnsafePointer<Float>? = nil) {
        precondition(residualAdd == nil || residual != nil, "internal: residualAdd without a residual")
        b.words.withUnsafeBufferPointer { words in
            var args = samq_bf16gemm_args()
            args.M = rows.upperBound; args.N = b.columns; args.K = b.rows
            args.A = a; args.lda = lda
            args.B = words.baseAddress; args.ldb = b.columns
            args.bias = bias
            args.residual = residual; args.ldr = ldr
            args.residual_add = residualAdd
            args.C = c; args.ldc = ldc
            args.m_begin = rows.lowerBound; args.m_end = rows.upperBound
            args.n_begin = 0; args.n_end = b.columns
            let status = samq_bf16gemm(isa.raw, &args)
            precondition(status == 0, "samq_bf16gemm rejected internally consistent arguments")
        }
    }
}
