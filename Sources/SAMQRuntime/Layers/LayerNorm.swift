import CKernels

/// LayerNorm over the last axis: `nn.LayerNorm` and, on channels-last data,
/// `LayerNorm2d` (which normalizes over channels with the same formula).
///
/// Each eps comes from the official module: 1e-6 for the ViT blocks (built with
/// `partial(nn.LayerNorm, eps=1e-6)`) and every LayerNorm2d, 1e-5 (the
/// `nn.LayerNorm` default) in the two-way transformer.
struct LayerNorm {
    static let vitEpsilon: Float = 1e-6
    static let layerNorm2dEpsilon: Float = 1e-6
    static let defaultEpsilon: Float = 1e-5

    let weight: [Float]
    let bias: [Float]
    let epsilon: Float
    var dimension: Int { weight.count }

    init(weights: WeightProvider, prefix: String, dimension: Int, epsilon: Float) throws {
        weight = try weights.tensor(prefix + ".weight", shape: [dimension])
        bias = try weights.tensor(prefix + ".bias", shape: [dimension])
        self.epsilon = epsilon
    }

    /// Normalizes each row of `[rows][dimension]`. Moments in Double: the
    /// reference's float reductions are accurate to a few ulp, Double is closer to both.
    func apply(_ x: [Float]) -> [Float] {
        var out = x
        applyInPlace(&out)
        return out
    }

    func applyInPlace(_ x: inout [Float]) {
        let c = dimension
        precondition(c > 0 && x.count % c == 0, "internal LayerNorm on a ragged tensor")
        let rows = x.count / c
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                x.withUnsafeMutableBufferPointer { buffer in
                    let base = buffer.baseAddress!
                    let chunk = 128
                    Parallel.forEach(tasks: (rows + chunk - 1) / chunk) { t, _ in
                        for r in (t * chunk)..<min(rows, (t + 1) * chunk) {
                            Self.normalizeRow(base + r * c, count: c, weight: w, bias: b, epsilon: epsilon)
                        }
                    }
                }
            }
        }
    }

    /// Normalizes `rows` rows from `source` into `destination` (which may be
    /// `source`) with the C kernel `samq_layernorm`: the same formula with the
    /// moments accumulated in 8 interleaved double lanes, so it differs from
    /// `applyInPlace` in the last bit at most but gives identical bits on every
    /// ISA and thread count. TinyViT's norms use it (its LayerNorms were 6% of
    /// a vit_t encode in the Swift loop).
    func applyRows(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, rows: Int,
                   isa: KernelISA) throws {
        let failures = KernelFailures()
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                var template = samq_layernorm_args()
                template.C = dimension; template.ldx = dimension; template.ldy = dimension
                template.w = w.baseAddress; template.b = b.baseAddress; template.eps = epsilon
                let chunk = 128
                Parallel.forEach(tasks: (rows + chunk - 1) / chunk) { t, _ in
                    let r0 = t * chunk
                    var a = template
                    a.rows = min(rows, r0 + chunk) - r0
                    a.x = source + r0 * dimension
                    a.y = destination + r0 * dimension
                    if samq_layernorm(isa.raw, &a) != 0 { failures.add() }
                }
            }
        }
        if failures.count > 0 {
            throw SAMRuntimeError.invalidConfig("the LayerNorm kernel rejected \(rows) rows of \(dimension)")
        }
    }

    /// Runs `body` with `samq_layernorm` arguments for this norm (weights,
    /// epsilon, dense rows of `dimension`); the caller sets `rows`, `x`, `y`
    /// (callers that normalize rows inside their own parallel tasks).
    func withArguments<R>(_ body: (samq_layernorm_args) throws -> R) rethrows -> R {
        try weight.withUnsafeBufferPointer { w in
            try bias.withUnsafeBufferPointer { b in
                var a = samq_layernorm_args()
                a.C = dimension; a.ldx = dimension; a.ldy = dimension
                a.w = w.baseAddress; a.b = b.baseAddress; a.eps = epsilon
                return try body(a)
            }
        }
    }

    /// Normalizes one row with the C kernel (`applyRows`' arithmetic): the
    /// int8 ViT block gathers window rows one by one, and the Swift loop
    /// below ran scalar (3% of a vit_b encode). `isa` is valid for this CPU.
    func normalize(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, isa: KernelISA) {
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                var a = samq_layernorm_args()
                a.rows = 1; a.C = dimension; a.ldx = dimension; a.ldy = dimension
                a.x = source; a.y = destination
                a.w = w.baseAddress; a.b = b.baseAddress; a.eps = epsilon
                let status = samq_layernorm(isa.raw, &a)
                precondition(status == 0, "samq_layernorm rejected one row of \(dimension)")
            }
        }
    }

    /// Normalizes one row from `source` into `destination` with the
    /// arithmetic of `applyInPlace`, so row tiles match whole tensors bit for bit.
    func normalize(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>) {
        let c = dimension
        destination.update(from: source, count: c)
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                Self.normalizeRow(destination, count: c, weight: w, bias: b, epsilon: epsilon)
            }
        }
    }

    @inline(__always)
    private static func normalizeRow(_ p: UnsafeMutablePointer<Float>, count c: Int,
                                     weight: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>,
                                     epsilon: Float) {
        var sum = 0.0
        for i in 0..<c { sum += Double(p[i]) }
        let mean = sum / Double(c)
        var sq = 0.0
        for i in 0..<c { let d = Double(p[i]) - mean; sq += d * d }
        let variance = sq / Double(c)
        let inv = 1 / (variance + Double(epsilon)).squareRoot()
        for i in 0..<c {
            p[i] = Float((Double(p[i]) - mean) * inv) * weight[i] + bias[i]
        }
    }
}
