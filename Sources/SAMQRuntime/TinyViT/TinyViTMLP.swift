import SAMQFormat

/// TinyViT's `Mlp` with its residual: `x += fc2(GELU(fc1(LayerNorm(x))))`,
/// over chunks of tokens so the 4×-wide hidden activations stay small.
struct TinyViTMLP {
    let norm: LayerNorm
    let fc1: TokenLinear
    let fc2: TokenLinear
    let dim: Int
    static let chunk = 1024

    init(weights: WeightProvider, prefix: String, dim: Int, hidden: Int, context: Int8Context?) throws {
        norm = try LayerNorm(weights: weights, prefix: prefix + ".norm", dimension: dim, epsilon: LayerNorm.defaultEpsilon)
        fc1 = try TokenLinear(weights: weights, prefix: prefix + ".fc1", inputs: dim, outputs: hidden, view: .linear,
                              context: context)
        fc2 = try TokenLinear(weights: weights, prefix: prefix + ".fc2", inputs: hidden, outputs: dim, view: .linear,
                              context: context)
        self.dim = dim
    }

    func apply(_ x: inout [Float]) throws {
        let tokens = x.count / dim
        var normed = [Float](repeating: 0, count: min(tokens, Self.chunk) * dim)
        var hidden = [Float](repeating: 0, count: min(tokens, Self.chunk) * fc1.outputs)
        var t0 = 0
        while t0 < tokens {
            let t1 = min(tokens, t0 + Self.chunk), rows = t1 - t0
            if rows * dim != normed.count { normed = [Float](repeating: 0, count: rows * dim) }
            x.withUnsafeBufferPointer { src in
                normed.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: src.baseAddress! + t0 * dim, count: rows * dim) }
            }
            norm.applyInPlace(&normed)
            try normed.withUnsafeBufferPointer { n in
                try hidden.withUnsafeMutableBufferPointer { h in
                    try fc1.forward(rows: rows, input: n.baseAddress!, output: h.baseAddress!, gelu: true)
                }
            }
            try hidden.withUnsafeBufferPointer { h in
                try x.withUnsafeMutableBufferPointer { out in
                    try fc2.forward(rows: rows, input: h.baseAddress!, output: out.baseAddress! + t0 * dim, accumulate: true)
                }
            }
            t0 = t1
        }
    }
}
