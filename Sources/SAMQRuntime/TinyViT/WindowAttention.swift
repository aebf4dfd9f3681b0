import SAMQFormat

/// TinyViT's windowed attention (`TinyViTBlock` + `Attention`): the map is
/// zero-padded to whole windows, each window's tokens are LayerNormed
/// (padding tokens included — they become the norm's bias, as in the
/// reference, and take part as keys), then multi-head attention with a
/// learned bias per head and per relative offset `(|Δy|, |Δx|)`, a projection,
/// and the residual add on the unpadded tokens.
///
/// One row of windows is processed at a time, so the qkv buffer holds
/// `window × paddedWidth` tokens, not the whole map.
struct WindowAttention {
    let norm: LayerNorm
    let qkv: TokenLinear
    let proj: TokenLinear
    /// `[heads][window²]`, indexed by `|Δy|·window + |Δx|`.
    let biases: [Float]
    /// For each (query, key) pair of a window, its offset index.
    let offsetIndex: [Int32]
    let dim: Int
    let heads: Int
    let window: Int

    var headDim: Int { dim / heads }
    var tokens: Int { window * window }

    init(weights: WeightProvider, prefix: String, dim: Int, heads: Int, window: Int, context: Int8Context?) throws {
        norm = try LayerNorm(weights: weights, prefix: prefix + ".norm", dimension: dim, epsilon: LayerNorm.defaultEpsilon)
        qkv = try TokenLinear(weights: weights, prefix: prefix + ".qkv", inputs: dim, outputs: 3 * dim, view: .linear,
                              context: context)
        proj = try TokenLinear(weights: weights, prefix: prefix + ".proj", inputs: dim, outputs: dim, view: .linear,
                               context: context)
        biases = try weights.tensor(prefix + ".attention_biases", shape: [heads, window * window])
        self.dim = dim
        self.heads = heads
        self.window = window
        let n = window * window
        var index = [Int32](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                index[i * n + j] = Int32(abs(i / window - j / window) * window + abs(i % window - j % window))
            }
        }
        offsetIndex = index
    }

    /// `x += attention(x)` for `x` = `[height][width][dim]`.
    func apply(_ x: inout [Float], height: Int, width: Int) throws {
        let ws = window, n = tokens, c = dim
        let columns = (width + ws - 1) / ws, windowRows = (height + ws - 1) / ws
        let rows = columns * n
        var gathered = [Float](repeating: 0, count: rows * c)
        var qkvOut = [Float](repeating: 0, count: rows * 3 * c)
        var attended = [Float](repeating: 0, count: rows * c)
        var projected = [Float](repeating: 0, count: rows * c)
        for wr in 0..<windowRows {
            // Gather the row of windows, window-major, zeros outside the map.
            gathered.withUnsafeMutableBufferPointer { g in
                x.withUnsafeBufferPointer { src in
                    for wc in 0..<columns {
                        for t in 0..<n {
                            let y = wr * ws + t / ws, xx = wc * ws + t % ws
                            let dst = g.baseAddress! + (wc * n + t) * c
                            if y < height && xx < width {
                                dst.update(from: src.baseAddress! + (y * width + xx) * c, count: c)
                            } else {
                                dst.update(repeating: 0, count: c)
                            }
                        }
                    }
                }
            }
            norm.applyInPlace(&gathered)
            try gathered.withUnsafeBufferPointer { g in
                try qkvOut.withUnsafeMutableBufferPointer { q in
                    try qkv.forward(rows: rows, input: g.baseAddress!, output: q.baseAddress!)
                }
            }
            attend(qkvOut, windows: columns, into: &attended)
            try attended.withUnsafeBufferPointer { a in
                try projected.withUnsafeMutableBufferPointer { p in
                    try proj.forward(rows: rows, input: a.baseAddress!, output: p.baseAddress!)
                }
            }
            // Residual add on the tokens inside the map.
            for wc in 0..<columns {
                for t in 0..<n {
                    let y = wr * ws + t / ws, xx = wc * ws + t % ws
                    guard y < height && xx < width else { continue }
                    let dst = (y * width + xx) * c, src = (wc * n + t) * c
                    for ch in 0..<c { x[dst + ch] += projected[src + ch] }
                }
            }
        }
    }

    /// Softmax(q·kᵀ·scale + bias)·v for every window and head. qkv rows are
    /// `[heads][q | k | v]` (the reference views them as `(N, heads, -1)` and
    /// splits), the output `[heads][headDim]`.
    private func attend(_ qkvOut: [Float], windows: Int, into out: inout [Float]) {
        let n = tokens, hd = headDim, c = dim, ld = 3 * c
        let scale = 1 / Float(hd).squareRoot()
        let tasks = windows * heads
        let workers = Parallel.workerCount(tasks: tasks)
        var scratch = [Float](repeating: 0, count: workers * n * n)
        qkvOut.withUnsafeBufferPointer { qb in
            out.withUnsafeMutableBufferPointer { ob in
                scratch.withUnsafeMutableBufferPointer { sb in
                    biases.withUnsafeBufferPointer { bb in
                        offsetIndex.withUnsafeBufferPointer { ib in
                            Parallel.forEach(tasks: tasks) { task, worker in
                                let w = task / heads, h = task % heads
                                let base = qb.baseAddress! + w * n * ld + h * 3 * hd
                                let scores = sb.baseAddress! + worker * n * n
                                MatMul.f32(m: n, n: n, k: hd, a: base, lda: ld, b: base + hd, ldb: ld, layout: .nk,
                                           c: scores, ldc: n, parallel: false)
                                let bias = bb.baseAddress! + h * n
                                for i in 0..<n {
                                    let row = scores + i * n, idx = ib.baseAddress! + i * n
                                    for j in 0..<n { row[j] = row[j] * scale + bias[Int(idx[j])] }
                                    Softmax.apply(row, count: n)
                                }
                                MatMul.f32(m: n, n: hd, k: n, a: scores, lda: n, b: base + 2 * hd, ldb: ld, layout: .kn,
                                           c: ob.baseAddress! + w * n * c + h * hd, ldc: c, parallel: false)
                            }
                        }
                    }
                }
            }
        }
    }
}
