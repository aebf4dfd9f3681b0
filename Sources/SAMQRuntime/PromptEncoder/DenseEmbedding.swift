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
    /// (no copy of the image first), in row chunks on `pool` when given: a
    /// decode makes this 4 MB array (vit_b) for every prompt.
    func added(to image: [Float], pool: ThreadPool? = nil) -> [Float] {
        let (addend, width): ([Float], Int)
        switch self {
        case .grid(let values):
            precondition(values.count == image.count, "internal: dense grid size")
            (addend, width) = (values, image.count)
        case .broadcast(let vector):
            precondition(!vector.isEmpty && image.count % vector.count == 0, "internal: dense embedding width")
            (addend, width) = (vector, vector.count)
        }
        guard !image.isEmpty else { return [] }
        return [Float](unsafeUninitializedCapacity: image.count) { out, initialized in
            image.withUnsafeBufferPointer { src in
                addend.withUnsafeBufferPointer { add in
                    let o = out.baseAddress!, x = src.baseAddress!, v = add.baseAddress!
                    // Chunks of whole rows (a broadcast addend restarts every `width`).
                    let rowsPerChunk = max(1, 16_384 / width), rows = image.count / width
                    let body = { (task: Int, _: Int) in
                        let r0 = task * rowsPerChunk, r1 = min(rows, r0 + rowsPerChunk)
                        for row in r0..<r1 {
                            let base = row * width, addBase = addend.count == width ? 0 : base
                            for j in 0..<width { o[base + j] = x[base + j] + v[addBase + j] }
                        }
                    }
                    let tasks = (rows + rowsPerChunk - 1) / rowsPerChunk
                    if let pool { pool.parallelFor(count: tasks, body) } else { for t in 0..<tasks { body(t, 0) } }
                }
            }
            initialized = image.count
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
