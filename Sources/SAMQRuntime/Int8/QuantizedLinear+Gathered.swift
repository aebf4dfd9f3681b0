extension QuantizedLinear {
    /// Convolutions as GEMMs: runs this linear over `rows` input rows that do
    /// not exist in memory, gathering them `chunkRows` at a time into the
    /// workspace (so the im2col buffer stays small) with `gather(row, destination)`,
    /// which writes one row of `inFeatures` values. Rows are gathered in
    /// parallel, 32 per task. Returns `[rows][outFeatures]`.
    func forwardGathered(rows: Int, chunkRows: Int, activation: FusedActivation = .none,
                         gather: (_ row: Int, _ destination: UnsafeMutablePointer<Float>) -> Void)
        throws(Int8RuntimeError) -> [Float] {
        let width = inFeatures, n = outFeatures
        let chunk = max(1, chunkRows)
        let columns = context.workspace.columns.pointer(as: Float.self, count: min(chunk, rows) * width)
        let pool = context.pool
        return try makeFloatArray(count: rows * n) { (out) throws(Int8RuntimeError) in
            var start = 0
            while start < rows {
                let count = min(chunk, rows - start)
                let first = start
                pool.parallelFor(count: (count + 31) / 32) { task, _ in
                    for r in (task * 32)..<min(count, task * 32 + 32) { gather(first + r, columns + r * width) }
                }
                try forward(rows: count, input: columns, ldx: width, output: out + start * n, ldo: n,
                            activation: activation)
                start += count
            }
        }
    }
}
