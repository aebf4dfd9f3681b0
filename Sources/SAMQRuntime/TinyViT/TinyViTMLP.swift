import SAMQFormat

/// TinyViT's `Mlp` with its residual: `x += fc2(GELU(fc1(LayerNorm(x))))`,
/// over chunks of tokens so the 4×-wide hidden activations stay small. Int8
/// layers run fused per tile of tokens (`FusedInt8MLP`); f32 ones (or a mix)
/// layer by layer over chunks.
struct TinyViTMLP {
    let norm: LayerNorm
    let fc1: TokenLinear
    let fc2: TokenLinear
    let dim: Int
    let isa: KernelISA
    static let chunk = 512

    init(weights: WeightProvider, prefix: String, dim: Int, hidden: Int, context: Int8Context?) throws {
        norm = try LayerNorm(weights: weights, prefix: prefix + ".norm", dimension: dim, epsilon: LayerNorm.defaultEpsilon)
        fc1 = try TokenLinear(weights: weights, prefix: prefix + ".fc1", inputs: dim, outputs: hidden, view: .linear,
                              context: context)
        fc2 = try TokenLinear(weights: weights, prefix: prefix + ".fc2", inputs: hidden, outputs: dim, view: .linear,
                              context: context)
        self.dim = dim
        isa = context?.isa ?? .best
    }

    /// The int8 MLP as one fused loop, or nil if a layer runs in f32.
    var fused: FusedInt8MLP? {
        guard case let .int8(first) = fc1, case let .int8(second) = fc2 else { return nil }
        return FusedInt8MLP(norm: norm, fc1: first, fc2: second)
    }

    /// Chunk buffers come from `scratch` (reused by every block, so no
    /// fresh pages per call).
    func apply(_ x: inout [Float], scratch: StripScratch) throws {
        let tokens = x.count / dim
        if let fused {
            try x.withUnsafeMutableBufferPointer { try fused.apply($0.baseAddress!, tokens: tokens, scratch: scratch) }
            return
        }
        let normed = scratch.floats(.mlpNormed, min(tokens, Self.chunk) * dim)
        let hidden = scratch.floats(.mlpHidden, min(tokens, Self.chunk) * fc1.outputs)
        try x.withUnsafeMutableBufferPointer { xb in
            let base = xb.baseAddress!
            var t0 = 0
            while t0 < tokens {
                let t1 = min(tokens, t0 + Self.chunk), rows = t1 - t0
                try norm.applyRows(base + t0 * dim, into: normed, rows: rows, isa: isa)
                try fc1.forward(rows: rows, input: normed, output: hidden, gelu: true)
                try fc2.forward(rows: rows, input: hidden, output: base + t0 * dim, accumulate: true)
                t0 = t1
            }
        }
    }
}
