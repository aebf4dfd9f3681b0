import CKernels
import SAMQFormat

/// `nn.Linear` in W8A8: y = x·Wᵀ + b with int8 per-channel weights and
/// activations quantized per row on the fly (`samq_quantize_rows`).
///
/// Mirrors the f32 `Linear` (`callAsFunction`, `accumulate`) so the encoder
/// and decoder can swap one for the other.
public struct QuantizedLinear: @unchecked Sendable {
    public let weight: PackedInt8Matrix
    public let bias: [Float]?
    public private(set) var context: Int8Context

    public var inFeatures: Int { weight.k }
    public var outFeatures: Int { weight.n }

    public init(weight: PackedInt8Matrix, bias: [Float]?, context: Int8Context) throws(Int8RuntimeError) {
        if let bias, bias.count != weight.n {
            throw .shapeMismatch(what: "bias of '\(weight.name)'", expected: weight.n, actual: bias.count)
        }
        self.weight = weight
        self.bias = bias
        self.context = context
    }

    /// Loads `prefix.weight` / `prefix.bias` like the f32 `Linear`: packed
    /// bytes straight from a `.samq` file when stored packed, else quantized
    /// from f32 at load.
    init(weights: WeightProvider, prefix: String, inFeatures: Int, outFeatures: Int, bias hasBias: Bool = true,
         context: Int8Context) throws {
        let matrix = try PackedInt8Matrix(weights: weights, name: prefix + ".weight", view: .linear,
                                          shape: [outFeatures, inFeatures])
        let bias = hasBias ? try weights.tensor(prefix + ".bias", shape: [outFeatures]) : nil
        try self.init(weight: matrix, bias: bias, context: context)
    }

    /// The same layer running on `context`'s scratch (callers that may run
    /// concurrently, like the mask decoder under the automatic mask generator,
    /// each use their own context; the weights are shared).
    public func using(_ context: Int8Context) -> QuantizedLinear {
        var copy = self
        copy.context = context
        return copy
    }

    /// `x` is `[rows][inFeatures]`; returns `[rows][outFeatures]`.
    public func callAsFunction(_ x: [Float], activation: FusedActivation = .none) throws(Int8RuntimeError) -> [Float] {
        let rows = try rowCount(of: x)
        guard rows > 0 else { return [] }
        return try makeFloatArray(count: rows * outFeatures) { (out) throws(Int8RuntimeError) in
            try x.withUnsafeBufferPointer { (input) throws(Int8RuntimeError) in
                try forward(rows: rows, input: input.baseAddress!, ldx: inFeatures,
                            output: out, ldo: outFeatures, activation: activation)
            }
        }
    }

    /// `residual += linear(x)`, the residual add fused into the epilogue.
    public func accumulate(_ x: [Float], into residual: inout [Float]) throws(Int8RuntimeError) {
        let rows = try rowCount(of: x)
        guard residual.count == rows * outFeatures else {
            throw .shapeMismatch(what: "residual of '\(weight.name)'", expected: rows * outFeatures, actual: residual.count)
        }
        guard rows > 0 else { return }
        try x.withUnsafeBufferPointer { (input) throws(Int8RuntimeError) in
            try residual.withUnsafeMutableBufferPointer { (out) throws(Int8RuntimeError) in
                try forward(rows: rows, input: input.baseAddress!, ldx: inFeatures,
                            output: out.baseAddress!, ldo: outFeatures, accumulate: true)
            }
        }
    }

    /// Pointer-level forward: `output[r][0..<N] = act(x[r]·Wᵀ + b)` (or
    /// `+=` with `accumulate`, where the activation must be `.none`, as in
    /// every residual of SAM). Rows of `input` are `ldx` apart, rows of
    /// `output` `ldo` apart; `output` must not overlap `input`.
    public func forward(rows: Int, input: UnsafePointer<Float>, ldx: Int,
                        output: UnsafeMutablePointer<Float>, ldo: Int,
                        activation: FusedActivation = .none, accumulate: Bool = false) throws(Int8RuntimeError) {
        try forward(rows: rows, input: input, ldx: ldx, output: output, ldo: ldo, activation: activation,
                    residual: accumulate ? UnsafePointer(output) : nil, ldr: ldo)
    }

    /// `output = input·Wᵀ + b + residual` (rows of `residual` `ldr` apart),
    /// added in the GEMM epilogue: the same bits as copying the residual into
    /// `output` and accumulating, without the copy.
    public func forward(rows: Int, input: UnsafePointer<Float>, ldx: Int,
                        output: UnsafeMutablePointer<Float>, ldo: Int,
                        activation: FusedActivation = .none,
                        residual: UnsafePointer<Float>?, ldr: Int) throws(Int8RuntimeError) {
        guard rows > 0 else { return }
        guard ldx >= inFeatures, ldo >= outFeatures, residual == nil || ldr >= outFeatures else {
            throw .invalidConfiguration("leading dimensions \(ldx), \(ldo), \(ldr) are smaller than \(inFeatures), \(outFeatures)")
        }
        guard !(residual != nil && activation != .none) else {
            throw .invalidConfiguration("an activation before the residual add is not supported")
        }
        let k = inFeatures, n = outFeatures
        let kp = weight.layout.paddedK
        let isa = context.isa
        let space = context.workspace
        let quantized = space.activations.pointer(as: Int8.self, count: rows * kp)
        let scales = space.rowScales.pointer(as: Float.self, count: rows)
        let plan = GemmPlan(m: rows, n: n, k: k, threads: context.pool.threads)
        // With one column tile a task owns its rows outright and quantizes
        // them itself (they are then hot in cache for the GEMM); otherwise
        // several tasks share rows, so they are quantized first.
        let fusedQuantize = plan.columnTiles == 1
        if !fusedQuantize {
            let chunk = 64
            context.pool.parallelFor(count: (rows + chunk - 1) / chunk) { task, _ in
                let r0 = task * chunk, r1 = min(rows, r0 + chunk)
                samq_quantize_rows(isa.raw, input + r0 * ldx, r1 - r0, k, ldx, quantized + r0 * kp, kp, scales + r0)
            }
        }
        let payload = weight.payload
        let gelu = activation == .gelu
        space.resetStatus()
        let run: (UnsafePointer<Float>?) -> Void = { bias in
            context.pool.parallelFor(count: plan.taskCount) { task, worker in
                let rowRange = plan.rows(of: task), columnRange = plan.columns(of: task)
                if fusedQuantize {
                    samq_quantize_rows(isa.raw, input + rowRange.lowerBound * ldx, rowRange.count, k, ldx,
                                       quantized + rowRange.lowerBound * kp, kp, scales + rowRange.lowerBound)
                }
                let status = Int8GEMM.run(isa: isa, m: rows, n: n, k: k, a: quantized, lda: kp, rowScales: scales,
                                          weights: payload, bias: bias,
                                          residual: residual, ldr: ldr,
                                          c: output, ldc: ldo, gelu: gelu, rows: rowRange, columns: columnRange)
                if status != 0 { space.status[worker] = status }
                if activation == .relu { Int8GEMM.relu(output, ldc: ldo, rows: rowRange, columns: columnRange) }
            }
        }
        if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
        if space.failed { throw .kernelRejected("gemm for '\(weight.name)' (\(rows)×\(n)×\(k))") }
    }

    private func rowCount(of x: [Float]) throws(Int8RuntimeError) -> Int {
        guard x.count % inFeatures == 0 else {
            throw .shapeMismatch(what: "input of '\(weight.name)'", expected: (x.count / inFeatures + 1) * inFeatures,
                                 actual: x.count)
        }
        return x.count / inFeatures
    }
}
