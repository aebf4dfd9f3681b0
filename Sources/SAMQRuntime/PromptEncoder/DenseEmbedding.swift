/// The prompt encoder's dense embedding, `[h*w][C]`: without a mask input it
/// is `no_mask_embed` repeated over the grid, kept as that one `[C]` vector
/// (the grid would be 4 MB for vit_b, identical for every prompt).
enum DenseEmbedding: Equatable {
    /// One `[C]` vector, the same at every grid cell.
    case broadcast([Float])
    /// A full `[h*w][C]` grid (from a mask input).
    case grid([Float])

    /// `image + dense` for an `[h*w][C]` image: the same float additions as
    /// adding the materialized grid element by element.
    func added(to image: [Float]) -> [Float] {
        switch self {
        case .grid(let values):
            return Tensor.add(image, values)
        case .broadcast(let vector):
            let c = vector.count
            precondition(c > 0 && image.count % c == 0, "internal: dense embedding width")
            var out = image
            out.withUnsafeMutableBufferPointer { o in
                vector.withUnsafeBufferPointer { v in
                    for cell in 0..<(image.count / c) {
                        let row = o.baseAddress! + cell * c
                        for j in 0..<c { row[j] = row[j] + v[j] }
                    }
                }
            }
            return out
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
