/// Decomposed relative-position tables, as `get_rel_pos` in the official
/// image encoder builds them.
enum RelativePosition {
    /// `F.interpolate(mode="linear", align_corners=False)` of a `[length][channels]`
    /// table along its length, in float32 exactly like PyTorch's CPU kernel
    /// (source index clamped at 0, right neighbour clamped at the end).
    static func resize(_ table: [Float], length: Int, channels: Int, to newLength: Int) -> [Float] {
        precondition(table.count == length * channels && length > 0 && newLength > 0,
                     "internal rel-pos resize with inconsistent sizes")
        if length == newLength { return table }
        var out = [Float](repeating: 0, count: newLength * channels)
        let scale = Float(length) / Float(newLength)
        for i in 0..<newLength {
            let real = max(scale * (Float(i) + 0.5) - 0.5, 0)
            let i0 = Int(real)
            let offset = i0 < length - 1 ? 1 : 0
            let lambda1 = min(max(real - Float(i0), 0), 1)
            let lambda0 = 1 - lambda1
            for c in 0..<channels {
                out[i * channels + c] = table[i0 * channels + c] * lambda0
                    + table[(i0 + offset) * channels + c] * lambda1
            }
        }
        return out
    }

    /// `get_rel_pos(q_size, k_size, rel_pos)`: returns `[qSize][kSize][channels]`.
    static func gather(querySize q: Int, keySize k: Int, table: [Float], length: Int, channels: Int) -> [Float] {
        let maxDistance = 2 * max(q, k) - 1
        let resized = resize(table, length: length, channels: channels, to: maxDistance)
        // Same float32 arithmetic as the reference: scalars rounded to float,
        // then truncated by `.long()`.
        let qScale = Float(max(Double(k) / Double(q), 1.0))
        let kScale = Float(max(Double(q) / Double(k), 1.0))
        let offset = Float(Double(k - 1) * max(Double(q) / Double(k), 1.0))
        var out = [Float](repeating: 0, count: q * k * channels)
        for i in 0..<q {
            for j in 0..<k {
                let coord = (Float(i) * qScale - Float(j) * kScale) + offset
                let index = min(max(Int(coord), 0), maxDistance - 1)
                for c in 0..<channels {
                    out[(i * k + j) * channels + c] = resized[index * channels + c]
                }
            }
        }
        return out
    }
}
