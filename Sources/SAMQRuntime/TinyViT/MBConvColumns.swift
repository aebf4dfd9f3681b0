import CKernels

/// An int8 MBConv strip computed in column chunks, one parallel task per
/// chunk: the chunk's input columns plus one halo column on each side are
/// gathered, expanded (1×1 + GELU), run through the depthwise 3×3 (+ GELU)
/// and projected (1×1 + shortcut), then GELU, all in worker-local buffers.
///
/// Layer by layer, a strip's 4×-wide hidden maps (vit_t: 6 rows × 256 × 256
/// channels, 1.5 MB each) went through L3 between four parallel loops, and
/// the depthwise conv was memory-bound (~7% of an encode). A 32-column
/// chunk's maps are ~200 KB and stay in L2; the halo columns cost 2/32 more
/// expansion work. Every value has the arithmetic of the layer-by-layer path:
/// the 1×1 convs and the quantizer work per pixel, and the depthwise kernel's
/// per-pixel sequence skips exactly the taps outside the map (a chunk's cut
/// columns are computed but not used), so the bits are the same.
struct MBConvColumns {
    let expand: QuantizedLinear
    let depthwise: DepthwiseConv3x3
    let project: QuantizedLinear

    /// Output columns per chunk.
    static let chunkColumns = 32

    /// Output rows `outputRows` from `input` holding map rows `inputRows`
    /// (a halo row on each side unless at the map's edge), into `output`.
    func rows(input: UnsafePointer<Float>, inputRows: Range<Int>, width: Int, outputRows: Range<Int>,
              into output: UnsafeMutablePointer<Float>, scratch: StripScratch) throws {
        guard !outputRows.isEmpty, width > 0 else { return }
        let context = expand.context, isa = context.isa, pool = context.pool
        let channels = expand.inFeatures, hidden = expand.outFeatures
        let kp1 = expand.weight.layout.paddedK, kp3 = project.weight.layout.paddedK
        let rows = inputRows.count, chunk = Self.chunkColumns, wide = chunk + 2
        let outBegin = outputRows.lowerBound - inputRows.lowerBound, outRows = outputRows.count
        // One worker's buffers: gathered input, its codes, the expanded and
        // depthwise maps, the projection's codes, row scales.
        let sizes = [rows * wide * channels * 4, rows * wide * kp1, rows * wide * hidden * 4, rows * wide * hidden * 4,
                     chunk * kp3, rows * wide * 4].map { roundUp($0, 64) }
        let workerBytes = sizes.reduce(0, +)
        let buffers = UnsafeMutableRawPointer(scratch.floats(.expanded, pool.threads * workerBytes / 4))
        let failures = KernelFailures()
        let w1 = expand.weight.payload, w3 = project.weight.payload
        withBiases { bias1, bias3 in
            depthwise.withArguments { dwTemplate in
                pool.parallelFor(count: (width + chunk - 1) / chunk) { task, worker in
                    var cursor = buffers + worker * workerBytes
                    func take<T>(_ index: Int, _: T.Type) -> UnsafeMutablePointer<T> {
                        let p = cursor.bindMemory(to: T.self, capacity: sizes[index] / MemoryLayout<T>.stride)
                        cursor += sizes[index]
                        return p
                    }
                    let gathered = take(0, Float.self), codes1 = take(1, Int8.self)
                    let expanded = take(2, Float.self), middle = take(3, Float.self)
                    let codes3 = take(4, Int8.self), scales = take(5, Float.self)
                    let c0 = task * chunk, c1 = min(width, c0 + chunk)
                    let e0 = max(0, c0 - 1), e1 = min(width, c1 + 1), ew = e1 - e0, pixels = rows * ew
                    for r in 0..<rows {
                        (gathered + r * ew * channels).update(from: input + (r * width + e0) * channels, count: ew * channels)
                    }
                    samq_quantize_rows(isa.raw, gathered, pixels, channels, channels, codes1, kp1, scales)
                    var status = Int8GEMM.run(isa: isa, m: pixels, n: hidden, k: channels, a: codes1, lda: kp1,
                                              rowScales: scales, weights: w1, bias: bias1, residual: nil, ldr: 0,
                                              c: expanded, ldc: hidden, gelu: true, rows: 0..<pixels, columns: 0..<hidden)
                    var dw = dwTemplate
                    dw.H = rows; dw.W = ew; dw.C = hidden; dw.stride = 1
                    dw.x = UnsafePointer(expanded); dw.y = middle
                    dw.flags = UInt32(SAMQ_DW_GELU)
                    dw.y_begin = outBegin; dw.y_end = outBegin + outRows
                    status |= samq_dwconv3x3(isa.raw, &dw)
                    let cw = c1 - c0
                    for o in 0..<outRows {
                        let source = middle + ((outBegin + o) * ew + (c0 - e0)) * hidden
                        samq_quantize_rows(isa.raw, source, cw, hidden, hidden, codes3, kp3, scales)
                        let offset = (o * width + c0) * channels
                        let shortcut = input + ((outBegin + o) * width + c0) * channels
                        status |= Int8GEMM.run(isa: isa, m: cw, n: channels, k: hidden, a: codes3, lda: kp3,
                                               rowScales: scales, weights: w3, bias: bias3, residual: shortcut,
                                               ldr: channels, c: output + offset, ldc: channels, gelu: false,
                                               rows: 0..<cw, columns: 0..<channels)
                        samq_gelu_inplace(isa.raw, output + offset, cw * channels)
                    }
                    if status != 0 { failures.add() }
                }
            }
        }
        if failures.count > 0 {
            throw SAMRuntimeError.invalidConfig("a kernel rejected the MBConv strip of \(rows)×\(width)×\(channels)")
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
