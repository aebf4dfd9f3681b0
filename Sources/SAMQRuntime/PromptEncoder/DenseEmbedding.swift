import CKernels

/// The prompt encoder's dense embedding, `[h*w][C]`: without a mask input it
/// is `no_mask_embed` repeated over the grid, kept as that one `[C]` vector
/// (the grid would be 4 MB for vit_b, identical for every prompt).
enum DenseEmbedding: Equatable {
    /// One `[C]` vector, the same at every grid cell.
    case broadcast([Float])
    /// A full `[h*w][C]` grid (from a mask input).
    case grid([Float])

    /// `image + dense` for an `[h*w][C]` image: the same float additions as
    /// adding the materialized grid element by element. Written in one pass
    /// (no copy of the image first), in row chunks on `pool` when given.
    func added(to image: [Float], pool: ThreadPool? = nil) -> [Float] {
        guard !image.isEmpty else { return [] }
        let width = self.width(for: image.count)
        let rows = image.count / width, rowsPerChunk = max(1, 16_384 / width)
        return [Float](unsafeUninitializedCapacity: image.count) { out, initialized in
            image.withUnsafeBufferPointer { src in
                let o = out.baseAddress!, x = src.baseAddress!
                let body = { (task: Int, _: Int) in
                    let r0 = task * rowsPerChunk
                    add(to: x, rows: r0..<min(rows, r0 + rowsPerChunk), width: width, into: o, isa: .best)
                }
                let tasks = (rows + rowsPerChunk - 1) / rowsPerChunk
                if let pool { pool.parallelFor(count: tasks, body) } else { for t in 0..<tasks { body(t, 0) } }
            }
            initialized = image.count
        }
    }

    /// Rows `rows` of `image + dense` (`[h*w][width]`, row r at `r·width` in
    /// both `image` and `out`), written to `out`: lets a consumer build the
    /// sum chunk by chunk where it needs it (the decoder's first residual).
    func add(to image: UnsafePointer<Float>, rows: Range<Int>, width: Int, into out: UnsafeMutablePointer<Float>,
             isa: KernelISA) {
        let base = rows.lowerBound * width
        switch self {
        case .grid(let values):
            values.withUnsafeBufferPointer {
                samq_add_f32(isa.raw, image + base, $0.baseAddress! + base, out + base, rows.count * width)
            }
        case .broadcast(let vector):
            vector.withUnsafeBufferPointer { v in
                for row in rows {
                    samq_add_f32(isa.raw, image + row * width, v.baseAddress!, out + row * width, width)
                }
            }
        }
    }

    /// The row width for an image of `count` floats (checked).
    private func width(for count: Int) -> Int {
        switch self {
        case .grid(let values):
            precondition(values.count == count && count > 0, "internal: dense grid size")
            return count
        case .broadcast(let vector):
            precondition(!vector.isEmpty && count % vector.count == 0, "internal: dense embedding width")
            return vector.count
        }
    }

    /// The full grid (tests and references).
    func materialized(cells: Int) -> [Float] {
        switch self {
        case .grid(let values): return values
        case .broadcast(let vector): return (0..<cells).flatMap { _ in vector }
        }
    }
}
