import CKernels
import SAMQFormat

/// Rows quantized once and used twice: as GEMM activations (`[rows][Kp]`
/// int8 plus one scale per row, what `QuantizedLinear` would make of them)
/// and, packed, as a GEMM "weight" with one column per row.
///
/// The decoder's cross-attentions both read the same `keys + PE` image rows
/// as activations (token→image and image→token scores). Both use one rule
/// (`samq_quantize_rows`), so quantizing once gives the same bytes while the
/// f32 `keys + PE` never exists (4 MB for vit_b) and one of the two passes
/// disappears. (`packed` gives the rows' weight form, the payload
/// `PackedInt8Matrix(packingRows:)` makes from the f32 rows.)
final class QuantizedRows: @unchecked Sendable {
    let rows: Int
    let cols: Int
    let paddedK: Int
    private let storage: UnsafeMutableRawPointer
    var values: UnsafePointer<Int8> { UnsafePointer(storage.assumingMemoryBound(to: Int8.self)) }
    var scales: UnsafePointer<Float> { UnsafePointer((storage + rows * paddedK).assumingMemoryBound(to: Float.self)) }

    /// Quantizes the rows of `a + b` (both `[rows][cols]`, dense; `b` may be
    /// nil), in row chunks over `pool`.
    convenience init(quantizing a: UnsafePointer<Float>, plus b: UnsafePointer<Float>?, rows: Int, cols: Int,
                     isa: KernelISA, pool: ThreadPool) {
        self.init(uninitializedRows: rows, cols: cols)
        let chunk = Self.chunkRows
        pool.parallelFor(count: (rows + chunk - 1) / chunk) { task, _ in
            let r0 = task * chunk
            quantize(rows: r0..<min(rows, r0 + chunk), a + r0 * cols, plus: b.map { $0 + r0 * cols }, isa: isa)
        }
    }

    /// Storage for `rows` rows, to be filled with `quantize(rows:_:plus:isa:)`
    /// (e.g. chunk by chunk inside the loop that produces them).
    init(uninitializedRows rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        paddedK = roundUp(cols, 8)
        storage = .allocate(byteCount: roundUp(rows * paddedK, 4) + 4 * rows, alignment: 64)
    }

    /// Where row `row`'s codes (`paddedK` bytes per row) and scale go, for a
    /// kernel that quantizes rows the way `quantize` does while producing
    /// them (`DecoderLayerNorm.applyRows(_:_:rows:gelu:quantizingInto:ldq:scales:)`).
    func destination(row: Int) -> (codes: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row <= rows, "internal: quantized row index")
        return (storage.assumingMemoryBound(to: Int8.self) + row * paddedK,
                (storage + rows * paddedK).assumingMemoryBound(to: Float.self) + row)
    }

    /// Rows per `quantize` call in the parallel initializer: their f32 sum
    /// (64 KB for vit_b) stays in L2.
    static let chunkRows = 64

    /// Quantizes rows `range` from `a + b` (`a` and `b` point at the first of
    /// them, `cols` floats apart; `b` may be nil); at most `chunkRows` rows
    /// per call. The bytes do not depend on how the rows are chunked.
    func quantize(rows range: Range<Int>, _ a: UnsafePointer<Float>, plus b: UnsafePointer<Float>?, isa: KernelISA) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows && range.count <= Self.chunkRows,
                     "internal: quantized row range")
        let q = storage.assumingMemoryBound(to: Int8.self) + range.lowerBound * paddedK
        let s = (storage + rows * paddedK).assumingMemoryBound(to: Float.self) + range.lowerBound
        let n = range.count, cols = self.cols, kp = paddedK
        guard let b else {
            samq_quantize_rows(isa.raw, a, n, cols, cols, q, kp, s)
            return
        }
        // The sum of a few rows at a time in a small buffer that stays in L1,
        // then the quantizer on them (a whole chunk's sum, 64 KB for vit_b,
        // went through L2).
        let block = Self.sumRows
        withUnsafeTemporaryAllocation(of: Float.self, capacity: min(n, block) * cols) { sum in
            let t = sum.baseAddress!
            for r in stride(from: 0, to: n, by: block) {
                let count = min(block, n - r)
                samq_add_f32(isa.raw, a + r * cols, b + r * cols, t, count * cols)
                samq_quantize_rows(isa.raw, t, count, cols, cols, q + r * kp, kp, s + r)
            }
        }
    }

    /// Rows summed per quantizer call in `quantize(rows:_:plus:isa:)`.
    static let sumRows = 8

    deinit { storage.deallocate() }

}

extension QuantizedLinear {
    /// The layer on inputs quantized beforehand (`QuantizedRows` uses
    /// `forward`'s rule, so the output is the one `callAsFunction` gives on
    /// the f32 rows). Returns `[rows][outFeatures]`.
    func callAsFunction(_ input: QuantizedRows) throws(Int8RuntimeError) -> [Float] {
        guard input.cols == inFeatures, input.paddedK == weight.layout.paddedK else {
            throw .shapeMismatch(what: "quantized input of '\(weight.name)'", expected: inFeatures, actual: input.cols)
        }
        let m = input.rows, n = outFeatures, k = inFeatures
        guard m > 0 else { return [] }
        let context = self.context, isa = context.isa, payload = weight.payload
        let space = context.workspace
        let plan = GemmPlan(m: m, n: n, k: k, threads: context.pool.threads)
        space.resetStatus()
        let output = try makeFloatArray(count: m * n) { out in
            withOptionalPointer(bias) { b in
                context.pool.parallelFor(count: plan.taskCount) { task, worker in
                    let status = Int8GEMM.run(isa: isa, m: m, n: n, k: k, a: input.values, lda: input.paddedK,
                                              rowScales: input.scales, weights: payload, bias: b, residual: nil,
                                              ldr: n, c: out, ldc: n, gelu: false, rows: plan.rows(of: task),
                                              columns: plan.columns(of: task))
                    if status != 0 { space.status[worker] = status }
                }
            }
        }
        if space.failed { throw .kernelRejected("gemm for '\(weight.name)' (\(m)×\(n)×\(k))") }
        return output
    }
}
