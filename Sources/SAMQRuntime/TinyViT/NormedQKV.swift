import CKernels

/// The window attention's LayerNorm and int8 qkv projection as one parallel
/// loop over tiles of map tokens: each task normalizes its tokens straight
/// from the map into a worker-local tile, quantizes it and runs the GEMM into
/// the band's qkv rows. Padding tokens (the map padded to whole windows) all
/// normalize to the same row, so their qkv row is computed once and copied.
///
/// Before, the band was normalized into a padded f32 buffer (one loop), then
/// the qkv linear quantized and multiplied every band token (another): the
/// padding was 8% of the qkv rows in vit_t's stage 1 and 20% in stages 2
/// and 3. Every step is per row (LayerNorm, row quantization, the GEMM
/// epilogue), so the bits are those of the padded band.
struct NormedQKV {
    let norm: LayerNorm
    let linear: QuantizedLinear
    /// The qkv row of a padding token (`3·dim`).
    let paddingRow: [Float]

    init(norm: LayerNorm, linear: QuantizedLinear, padToken: [Float]) throws {
        self.norm = norm
        self.linear = linear
        paddingRow = try linear(padToken)
    }

    /// Copies the padding qkv row into `tokens` consecutive rows at `destination`.
    func fillPadding(_ destination: UnsafeMutablePointer<Float>, tokens: Int) {
        paddingRow.withUnsafeBufferPointer { row in
            for t in 0..<tokens { (destination + t * row.count).update(from: row.baseAddress!, count: row.count) }
        }
    }

    /// qkv rows of map rows `0..<rows` (each `width` tokens, from `map`) into
    /// `output`, whose rows are `paddedWidth` tokens apart.
    func run(_ map: UnsafePointer<Float>, rows: Int, width: Int, paddedWidth: Int,
             into output: UnsafeMutablePointer<Float>, scratch: StripScratch) throws {
        let context = linear.context, isa = context.isa, pool = context.pool
        let dim = linear.inFeatures, n = linear.outFeatures, kp = linear.weight.layout.paddedK
        // At least four tasks per thread, tiles of at most 64 and at least 12 tokens.
        let perRow = min((width + 11) / 12, max((width + 63) / 64, (4 * pool.threads + rows - 1) / max(rows, 1)))
        let tile = (width + perRow - 1) / perRow
        let floatBytes = roundUp(tile * dim * 4, 64), codeBytes = roundUp(tile * kp, 64)
        let workerBytes = floatBytes + codeBytes + roundUp(tile * 4, 64)
        let buffers = UnsafeMutableRawPointer(scratch.floats(.attentionNormed, pool.threads * workerBytes / 4))
        let payload = linear.weight.payload
        let failures = KernelFailures()
        let bias = linear.bias ?? []
        bias.withUnsafeBufferPointer { b in
            let biasPointer = linear.bias == nil ? nil : b.baseAddress
            norm.withArguments { template in
                pool.parallelFor(count: rows * perRow) { task, worker in
                    let r = task / perRow, t0 = (task % perRow) * tile, count = min(width, t0 + tile) - t0
                    guard count > 0 else { return }
                    let base = buffers + worker * workerBytes
                    let normed = base.bindMemory(to: Float.self, capacity: tile * dim)
                    let codes = (base + floatBytes).bindMemory(to: Int8.self, capacity: tile * kp)
                    let scales = (base + floatBytes + codeBytes).bindMemory(to: Float.self, capacity: tile)
                    var a = template
                    a.rows = count; a.x = map + (r * width + t0) * dim; a.y = normed
                    var status = samq_layernorm(isa.raw, &a)
                    samq_quantize_rows(isa.raw, normed, count, dim, dim, codes, kp, scales)
                    status |= Int8GEMM.run(isa: isa, m: count, n: n, k: dim, a: codes, lda: kp, rowScales: scales,
                                           weights: payload, bias: biasPointer, residual: nil, ldr: 0,
                                           c: output + (r * paddedWidth + t0) * n, ldc: n, gelu: false,
                                           rows: 0..<count, columns: 0..<n)
                    if status != 0 { failures.add() }
                }
            }
        }
        if failures.count > 0 {
            throw SAMRuntimeError.invalidConfig("a kernel rejected the attention's qkv of \(rows)×\(width)×\(dim)")
        }
    }
}
