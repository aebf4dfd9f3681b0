import CKernels

/// An int8 pointwise → depthwise → pointwise strip (TinyViT's MBConv and
/// PatchMerging) computed in column chunks, one parallel task per chunk: the
/// chunk's input columns plus the depthwise conv's halo columns are quantized,
/// expanded (1×1 + GELU), run through the depthwise 3×3 (+ GELU, stride 1
/// or 2) and projected (1×1, plus the shortcut and a GELU for MBConv), all in
/// worker-local buffers.
///
/// Layer by layer, a strip's 4×-wide hidden maps (vit_t's MBConv: 6 rows ×
/// 256 × 256 channels, 1.5 MB each) went through L3 between four parallel
/// loops, and the depthwise conv was memory-bound (~7% of an encode). A
/// 32-column chunk's maps are ~200 KB and stay in L2; the halo columns cost
/// 2/32 more expansion work. Every value has the arithmetic of the
/// layer-by-layer path: the 1×1 convs and the quantizer work per pixel, and
/// the depthwise kernel's per-pixel sequence skips exactly the taps outside
/// the map (a chunk's cut columns are computed but not used), so the bits are
/// the same.
struct PointwiseDepthwiseColumns {
    let expand: QuantizedLinear
    let depthwise: DepthwiseConv3x3
    let project: QuantizedLinear
    /// The depthwise conv's stride (1 or 2).
    var stride = 1
    /// MBConv: the projection adds the input (same size as the output) and a
    /// GELU follows.
    var shortcut = false

    /// Output columns per chunk, halved while a chunk's expanded map would
    /// exceed `expandedBytes` (vit_t's second merge: 10 input rows at
    /// stride 2), so a worker's buffers stay in L2.
    static let chunkColumns = 32
    static let expandedBytes = 320 * 1024
    /// Expanded rows kept for the next strip: its input starts one row above
    /// its first output row, so it reads the last two input rows of this one.
    static let carriedRows = 2

    /// Output columns whose every pixel is `value` (the layer's output
    /// channels) in all the output rows of a call (`UniformBand`): copied
    /// there, not computed.
    struct Uniform {
        let columns: Range<Int>
        let value: UnsafePointer<Float>
    }

    /// The last expanded rows of the previous strip of one layer, per chunk
    /// (`[chunk][row][column][hidden]`), so the next strip does not expand
    /// them again. Stage 0's MBConv strips of 4 new rows read 6 input rows,
    /// PatchMerging's 4 or 8 rows plus 2: without the carry a third (a fifth)
    /// of the expansion, a 4×-wide 1×1 conv and its GELU, was recomputed.
    /// One per layer and map, used strip after strip.
    final class Carry {
        /// The map rows held (the same for every chunk).
        fileprivate(set) var rows = 0..<0
        /// The output columns of each task when the rows were kept.
        fileprivate(set) var spans: [Range<Int>] = []
        fileprivate private(set) var storage = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private var capacity = 1

        init() {}
        deinit { storage.deallocate() }

        fileprivate func reserve(_ count: Int) {
            guard count > capacity else { return }
            storage.deallocate()
            storage = .allocate(capacity: count)
            capacity = count
            rows = 0..<0
        }
    }

    /// Output rows `outputRows` from `input` holding map rows `inputRows`
    /// (`lowerBound` a multiple of the stride, every row the outputs read
    /// except the map's zero padding), into `output`. `carry`, if given, must
    /// be used for consecutive strips of one layer over one map only.
    /// `uniform` columns are copied from its pixel, and the chunks split around them.
    func rows(input: UnsafePointer<Float>, inputRows: Range<Int>, width: Int, outputRows: Range<Int>,
              into output: UnsafeMutablePointer<Float>, scratch: StripScratch, carry: Carry? = nil,
              uniform: Uniform? = nil) throws {
        guard !outputRows.isEmpty, width > 0 else { return }
        guard inputRows.lowerBound % stride == 0, !shortcut || stride == 1 else {
            throw SAMRuntimeError.invalidConfig("pointwise-depthwise strip \(inputRows) with stride \(stride)")
        }
        let context = expand.context, isa = context.isa, pool = context.pool
        let channels = expand.inFeatures, hidden = expand.outFeatures, outChannels = project.outFeatures
        let kp1 = expand.weight.layout.paddedK, kp3 = project.weight.layout.paddedK
        let s = stride, outWidth = DepthwiseConv3x3.outputSize(width, stride: s)
        let rows = inputRows.count
        var chunk = Self.chunkColumns
        while chunk > 8 && rows * (s * chunk + 2) * hidden * 4 > Self.expandedBytes { chunk /= 2 }
        // Input columns of a chunk: from s·(c0 − 1) (a stride multiple, so
        // local output column j is map column c0 − 1 + j) to its last tap.
        let wide = s * chunk + 2, wideOut = DepthwiseConv3x3.outputSize(wide, stride: s)
        let stripOut = DepthwiseConv3x3.outputSize(rows, stride: s)
        let outBegin = outputRows.lowerBound - inputRows.lowerBound / s, outRows = outputRows.count
        guard outBegin >= 0, outBegin + outRows <= stripOut else {
            throw SAMRuntimeError.invalidConfig("pointwise-depthwise strip \(inputRows) does not cover \(outputRows)")
        }
        // One worker's buffers: the input's codes, the expanded and depthwise
        // maps, the projection's codes, row scales.
        let sizes = [rows * wide * kp1, rows * wide * hidden * 4,
                     stripOut * wideOut * hidden * 4, chunk * kp3, rows * wide * 4].map { roundUp($0, 64) }
        let workerBytes = sizes.reduce(0, +)
        let buffers = UnsafeMutableRawPointer(scratch.floats(.expanded, pool.threads * workerBytes / 4))
        // Each task's output columns: chunks, none inside the uniform columns.
        var spans: [Range<Int>] = []
        func split(_ columns: Range<Int>) {
            for c0 in Swift.stride(from: columns.lowerBound, to: columns.upperBound, by: chunk) {
                spans.append(c0..<min(columns.upperBound, c0 + chunk))
            }
        }
        let uniform = uniform.flatMap { $0.columns.upperBound <= outWidth ? $0 : nil }
        if let uniform {
            split(0..<uniform.columns.lowerBound)
            split(uniform.columns.upperBound..<outWidth)
        } else {
            split(0..<outWidth)
        }
        let slot = Self.carriedRows * wide * hidden
        carry?.reserve(spans.count * slot)
        // Input rows whose expansion the previous strip left in `carry`.
        var reused = 0, carryOffset = 0
        if let carry, carry.spans == spans, carry.rows.contains(inputRows.lowerBound) {
            reused = min(carry.rows.upperBound, inputRows.upperBound) - inputRows.lowerBound
            carryOffset = inputRows.lowerBound - carry.rows.lowerBound
        }
        let kept = min(Self.carriedRows, rows), carried = carry?.storage
        let failures = KernelFailures()
        let w1 = expand.weight.payload, w3 = project.weight.payload
        withBiases { bias1, bias3 in
            depthwise.withArguments { dwTemplate in
                pool.parallelFor(count: spans.count) { task, worker in
                    var cursor = buffers + worker * workerBytes
                    func take<T>(_ index: Int, _: T.Type) -> UnsafeMutablePointer<T> {
                        let p = cursor.bindMemory(to: T.self, capacity: sizes[index] / MemoryLayout<T>.stride)
                        cursor += sizes[index]
                        return p
                    }
                    let codes1 = take(0, Int8.self)
                    let expanded = take(1, Float.self), middle = take(2, Float.self)
                    let codes3 = take(3, Int8.self), scales = take(4, Float.self)
                    let c0 = spans[task].lowerBound, c1 = spans[task].upperBound
                    let e0 = max(0, s * (c0 - 1)), e1 = min(width, s * (c1 - 1) + 2), ew = e1 - e0
                    let ewOut = DepthwiseConv3x3.outputSize(ew, stride: s), skip = c0 - e0 / s
                    let rowFloats = ew * hidden
                    if let carried, reused > 0 {
                        expanded.update(from: carried + task * slot + carryOffset * rowFloats, count: reused * rowFloats)
                    }
                    // Each input row's chunk is contiguous: quantized in place, no gather.
                    for r in reused..<rows {
                        let p = (r - reused) * ew
                        samq_quantize_rows(isa.raw, input + (r * width + e0) * channels, ew, channels, channels,
                                           codes1 + p * kp1, kp1, scales + p)
                    }
                    let fresh = (rows - reused) * ew
                    var status = Int8GEMM.run(isa: isa, m: fresh, n: hidden, k: channels, a: codes1, lda: kp1,
                                              rowScales: scales, weights: w1, bias: bias1, residual: nil, ldr: 0,
                                              c: expanded + reused * rowFloats, ldc: hidden, gelu: true,
                                              rows: 0..<fresh, columns: 0..<hidden)
                    if let carried {
                        (carried + task * slot).update(from: expanded + (rows - kept) * rowFloats, count: kept * rowFloats)
                    }
                    var dw = dwTemplate
                    dw.H = rows; dw.W = ew; dw.C = hidden; dw.stride = s
                    dw.x = UnsafePointer(expanded); dw.y = middle
                    dw.flags = UInt32(SAMQ_DW_GELU)
                    dw.y_begin = outBegin; dw.y_end = outBegin + outRows
                    status |= samq_dwconv3x3(isa.raw, &dw)
                    let cw = c1 - c0
                    for o in 0..<outRows {
                        let source = middle + ((outBegin + o) * ewOut + skip) * hidden
                        samq_quantize_rows(isa.raw, source, cw, hidden, hidden, codes3, kp3, scales)
                        let offset = (o * outWidth + c0) * outChannels
                        let residual = shortcut ? input + ((outBegin + o) * width + c0) * channels : nil
                        status |= Int8GEMM.run(isa: isa, m: cw, n: outChannels, k: hidden, a: codes3, lda: kp3,
                                               rowScales: scales, weights: w3, bias: bias3, residual: residual,
                                               ldr: channels, c: output + offset, ldc: outChannels, gelu: false,
                                               rows: 0..<cw, columns: 0..<outChannels)
                        if shortcut { samq_gelu_inplace(isa.raw, output + offset, cw * outChannels) }
                    }
                    if status != 0 { failures.add() }
                }
            }
        }
        if let uniform {
            for o in 0..<outRows {
                for c in uniform.columns {
                    (output + (o * outWidth + c) * outChannels).update(from: uniform.value, count: outChannels)
                }
            }
        }
        carry?.rows = (inputRows.upperBound - kept)..<inputRows.upperBound
        carry?.spans = spans
        if failures.count > 0 {
            throw SAMRuntimeError.invalidConfig("a kernel rejected the pointwise-depthwise strip of \(rows)×\(width)×\(channels)")
        }
    }

    private func withBiases(_ body: (UnsafePointer<Float>?, UnsafePointer<Float>?) throws -> Void) rethrows {
        let b1 = expand.bias ?? [], b3 = project.bias ?? []
        try b1.withUnsafeBufferPointer { p1 in
            try b3.withUnsafeBufferPointer { p3 in
                try body(expand.bias == nil ? nil : p1.baseAddress, project.bias == nil ? nil : p3.baseAddress)
            }
        }
    }
}
