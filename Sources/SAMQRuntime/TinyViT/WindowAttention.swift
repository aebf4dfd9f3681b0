import CKernels
import SAMQFormat

/// TinyViT's windowed attention (`TinyViTBlock` + `Attention`): the map is
/// zero-padded to whole windows, each window's tokens are LayerNormed
/// (padding tokens included — they become the norm's bias, as in the
/// reference, and take part as keys), then multi-head attention with a
/// learned bias per head and per relative offset `(|Δy|, |Δx|)`, a projection,
/// and the residual add on the unpadded tokens.
///
/// One row of windows (a band of `window` map rows) is processed at a time,
/// in raster order: the band is normalized row by row from the map into the
/// band buffer (no per-token gather, no copy before the norm), the
/// attention kernel (`samq_window_attention`, one window and head per call)
/// addresses each window's tokens in place with a row stride, writes only the
/// tokens inside the map, and the projection adds its output straight into
/// `x` through the GEMM's residual epilogue.
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
    let isa: KernelISA
    /// bf16 on the int8 path where the CPU has bf16 products (as the
    /// decoder's attention), else f32; the f32 path always f32.
    let products: AttentionProductPrecision

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
        isa = context?.isa ?? .best
        products = context?.attentionProducts ?? .f32
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
    func apply(_ x: inout [Float], height: Int, width: Int, scratch: StripScratch) throws {
        let ws = window, n = tokens, c = dim, hd = headDim
        let columns = (width + ws - 1) / ws, windowRows = (height + ws - 1) / ws
        let paddedWidth = columns * ws, bandTokens = ws * paddedWidth
        let qkvOut = scratch.floats(.attentionQKV, bandTokens * 3 * c)
        let attended = scratch.floats(.attentionOutput, ws * width * c)
        // The dense bias of every head, [heads][n][n] (stage 2 of vit_t: 0.75 MB, built per call, not kept).
        let dense = scratch.floats(.attentionBias, heads * n * n)
        biases.withUnsafeBufferPointer { table in
            offsetIndex.withUnsafeBufferPointer { index in
                for h in 0..<heads {
                    let row = table.baseAddress! + h * n, out = dense + h * n * n
                    for i in 0..<(n * n) { out[i] = row[Int(index[i])] }
                }
            }
        }
        let tasks = columns * heads
        let perWorker = samq_window_attention_scratch(n, hd)
        let workers = Parallel.workerCount(tasks: tasks)
        let workerScratch = scratch.floats(.attentionWorkers, workers * perWorker)
        let scale = 1 / Float(hd).squareRoot()
        let failures = KernelFailures()
        // A padding token normalizes to this (the kernel on a zero token, as
        // the reference normalizes its zero padding).
        var padToken = [Float](repeating: 0, count: c)
        try padToken.withUnsafeMutableBufferPointer { try norm.applyRows($0.baseAddress!, into: $0.baseAddress!, rows: 1, isa: isa) }
        // Int8 qkv: normalize, quantize and project per tile of map tokens in
        // one loop; the padding tokens all have the same qkv row.
        var fusedQKV: NormedQKV?
        if case let .int8(linear) = qkv {
            let fused = try NormedQKV(norm: norm, linear: linear, padToken: padToken)
            if paddedWidth > width {
                for r in 0..<ws { fused.fillPadding(qkvOut + (r * paddedWidth + width) * 3 * c, tokens: paddedWidth - width) }
            }
            fusedQKV = fused
        }
        try x.withUnsafeMutableBufferPointer { xb in
            let base = xb.baseAddress!
            for wr in 0..<windowRows {
                let y0 = wr * ws, validRows = min(ws, height - y0)
                if let fusedQKV {
                    // Only the band's map tokens; the padding's qkv rows were filled once.
                    try fusedQKV.run(base + y0 * width * c, rows: validRows, width: width, paddedWidth: paddedWidth,
                                     into: qkvOut, scratch: scratch)
                    if validRows < ws {
                        fusedQKV.fillPadding(qkvOut + validRows * paddedWidth * 3 * c, tokens: (ws - validRows) * paddedWidth)
                    }
                } else {
                    try paddedBandQKV(base + y0 * width * c, rows: validRows, width: width, paddedWidth: paddedWidth,
                                      padToken: padToken, into: qkvOut, scratch: scratch)
                }
                // Head-major tasks: consecutive tasks share a head's bias block.
                Parallel.forEach(tasks: tasks) { task, worker in
                    let h = task / columns, wc = task % columns
                    let q = qkvOut + wc * ws * 3 * c + h * 3 * hd
                    var a = samq_window_attention_args()
                    a.rows = ws; a.cols = ws; a.head_dim = hd
                    a.q = UnsafePointer(q); a.k = UnsafePointer(q + hd); a.v = UnsafePointer(q + 2 * hd)
                    a.ld = 3 * c; a.row_stride = paddedWidth * 3 * c
                    a.bias = UnsafePointer(dense + h * n * n)
                    a.scale = scale
                    a.out = attended + wc * ws * c + h * hd
                    a.out_ld = c; a.out_row_stride = width * c
                    a.out_rows = validRows; a.out_cols = min(ws, width - wc * ws)
                    a.scratch = workerScratch + worker * perWorker
                    let status = products == .bf16 ? samq_window_attention_bf16(isa.raw, &a)
                                                   : samq_window_attention(isa.raw, &a)
                    if status != 0 { failures.add() }
                }
                try proj.forward(rows: validRows * width, input: attended, output: base + y0 * width * c,
                                 accumulate: true)
            }
        }
        if failures.count > 0 {
            throw SAMRuntimeError.invalidConfig("the LayerNorm or window attention kernel rejected a \(ws)×\(ws) window of \(heads) heads")
        }
    }

    /// The f32 (or mixed) path: the band normalized into a buffer padded to
    /// whole windows, each map row straight from the map (no copy first),
    /// one row per task, then the qkv linear over every band token.
    private func paddedBandQKV(_ map: UnsafePointer<Float>, rows validRows: Int, width: Int, paddedWidth: Int,
                               padToken: [Float], into qkvOut: UnsafeMutablePointer<Float>, scratch: StripScratch) throws {
        let ws = window, c = dim, bandTokens = ws * paddedWidth
        let band = scratch.floats(.attentionBand, bandTokens * c)
        let failures = KernelFailures()
        padToken.withUnsafeBufferPointer { pad in
            norm.withArguments { template in
                Parallel.forEach(tasks: ws) { r, _ in
                    let dst = band + r * paddedWidth * c
                    var first = 0
                    if r < validRows {
                        var a = template
                        a.rows = width; a.x = map + r * width * c; a.y = dst
                        if samq_layernorm(isa.raw, &a) != 0 { failures.add() }
                        first = width
                    }
                    for t in first..<paddedWidth { (dst + t * c).update(from: pad.baseAddress!, count: c) }
                }
            }
        }
        if failures.count > 0 { throw SAMRuntimeError.invalidConfig("the LayerNorm kernel rejected a band of \(width) tokens") }
        try qkv.forward(rows: bandTokens, input: band, output: qkvOut)
    }
}
