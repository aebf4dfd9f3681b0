import CKernels

/// The int8 `TinyViTMLP` run as one parallel loop over tiles of tokens: each
/// task normalizes its rows, quantizes them, runs fc1 (+GELU) into a
/// worker-local f32 tile, quantizes that and runs fc2, whose epilogue adds
/// the result into `x` in place.
///
/// The hidden activations (4× the width) then never leave the worker's
/// cache: layer by layer, fc1 wrote a 512-token chunk of them (2.6 MB in
/// vit_t's last stage, more than L2) and fc2 read it back to quantize it,
/// with a LayerNorm, two GEMM dispatches and a quantize pass per chunk.
/// Every step is per row (LayerNorm, row quantization, the GEMM epilogue), so
/// the bits are the ones of the layer-by-layer path.
struct FusedInt8MLP {
    let norm: LayerNorm
    let fc1: QuantizedLinear
    let fc2: QuantizedLinear

    /// Tokens per task: big enough to amortize streaming both weights
    /// (vit_t's last stage: 800 KB) per tile, small enough that a worker's
    /// tile buffers (≈ 0.5 MB there) stay in L2.
    static let tileRows = 64

    /// Floats of one worker's buffers: normed rows, their codes, fc1's
    /// output, its codes, two sets of row scales (codes counted in floats).
    private var workerFloats: Int {
        let t = Self.tileRows
        let kp1 = fc1.weight.layout.paddedK, kp2 = fc2.weight.layout.paddedK
        return t * fc1.inFeatures + (t * kp1 + 3) / 4 + t * fc1.outFeatures + (t * kp2 + 3) / 4 + 2 * t + 64
    }

    /// `x += fc2(GELU(fc1(norm(x))))` for `x` = `[tokens][dim]`.
    func apply(_ x: UnsafeMutablePointer<Float>, tokens: Int, scratch: StripScratch) throws {
        try apply(UnsafePointer(x), into: x, tokens: tokens, scratch: scratch)
    }

    /// `output = input + fc2(GELU(fc1(norm(input))))` (`output` may be `input`,
    /// or must not overlap it).
    func apply(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, tokens: Int,
               scratch: StripScratch) throws {
        guard tokens > 0 else { return }
        let context = fc1.context
        let isa = context.isa, pool = context.pool
        let dim = fc1.inFeatures, hidden = fc1.outFeatures
        let kp1 = fc1.weight.layout.paddedK, kp2 = fc2.weight.layout.paddedK
        let perWorker = workerFloats
        let buffers = scratch.floats(.mlpWorkers, pool.threads * perWorker)
        let tasks = (tokens + Self.tileRows - 1) / Self.tileRows
        let failures = KernelFailures()
        let w1 = fc1.weight.payload, w2 = fc2.weight.payload
        withOptionalPointer(fc1.bias) { bias1 in
            withOptionalPointer(fc2.bias) { bias2 in
                norm.withArguments { template in
                    pool.parallelFor(count: tasks) { task, worker in
                        let r0 = task * Self.tileRows, rows = min(tokens, r0 + Self.tileRows) - r0
                        // This worker's buffers, carved in order (64-byte steps keep the codes aligned).
                        var cursor = UnsafeMutableRawPointer(buffers + worker * perWorker)
                        func take<T>(_ count: Int, _: T.Type) -> UnsafeMutablePointer<T> {
                            let p = cursor.bindMemory(to: T.self, capacity: count)
                            cursor += roundUp(count * MemoryLayout<T>.stride, 64)
                            return p
                        }
                        let normed = take(Self.tileRows * dim, Float.self)
                        let codes1 = take(Self.tileRows * kp1, Int8.self)
                        let scales1 = take(Self.tileRows, Float.self)
                        let wide = take(Self.tileRows * hidden, Float.self)
                        let codes2 = take(Self.tileRows * kp2, Int8.self)
                        let scales2 = take(Self.tileRows, Float.self)
                        let xr = input + r0 * dim, yr = output + r0 * dim
                        var a = template
                        a.rows = rows; a.x = xr; a.y = normed
                        var status = samq_layernorm(isa.raw, &a)
                        samq_quantize_rows(isa.raw, normed, rows, dim, dim, codes1, kp1, scales1)
                        status |= Int8GEMM.run(isa: isa, m: rows, n: hidden, k: dim, a: codes1, lda: kp1,
                                               rowScales: scales1, weights: w1, bias: bias1, residual: nil, ldr: 0,
                                               c: wide, ldc: hidden, gelu: true, rows: 0..<rows, columns: 0..<hidden)
                        samq_quantize_rows(isa.raw, wide, rows, hidden, hidden, codes2, kp2, scales2)
                        status |= Int8GEMM.run(isa: isa, m: rows, n: dim, k: hidden, a: codes2, lda: kp2,
                                               rowScales: scales2, weights: w2, bias: bias2, residual: xr, ldr: dim,
                                               c: yr, ldc: dim, gelu: false, rows: 0..<rows, columns: 0..<dim)
                        if status != 0 { failures.add() }
                    }
                }
            }
        }
        if failures.count > 0 {
            throw SAMRuntimeError.invalidConfig("a kernel rejected the fused MLP of \(tokens)×\(dim)→\(hidden)")
        }
    }
}
