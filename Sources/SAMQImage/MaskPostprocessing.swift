import CKernels

/// `Sam.postprocess_masks` and the `> mask_threshold` step of `SamPredictor`.
public enum MaskPostprocessing {
    /// Source indices and weights along one axis, as torch's
    /// `compute_source_index_and_lambda` (align_corners=False) computes them in float.
    struct AxisWeights {
        var index0: [Int]
        var index1: [Int]
        var lambda0: [Float]
        var lambda1: [Float]

        init(inSize: Int, outSize: Int) {
            index0 = []; index1 = []; lambda0 = []; lambda1 = []
            index0.reserveCapacity(outSize); index1.reserveCapacity(outSize)
            lambda0.reserveCapacity(outSize); lambda1.reserveCapacity(outSize)
            // area_pixel_compute_scale: static_cast<float>(in) / out
            let scale = Float(inSize) / Float(outSize)
            for dst in 0..<outSize {
                if inSize == outSize {
                    index0.append(dst); index1.append(dst); lambda0.append(1); lambda1.append(0)
                    continue
                }
                // area_pixel_compute_source_index: scale * (dst + 0.5) - 0.5, clamped at 0
                var real = scale * (Float(dst) + 0.5) - 0.5
                if real < 0 { real = 0 }
                let i0 = min(Int(real.rounded(.down)), inSize - 1)
                let l1 = min(max(real - Float(i0), 0), 1)
                index0.append(i0)
                index1.append(i0 + (i0 < inSize - 1 ? 1 : 0))
                lambda1.append(l1)
                lambda0.append(1 - l1)
            }
        }
    }

    /// `F.interpolate(x, (outHeight, outWidth), mode="bilinear", align_corners=False)`
    /// on a C x H x W float32 tensor (the top-left `cropHeight` x `cropWidth` window
    /// of each plane is used as input when given, as slicing does in torch).
    ///
    /// This is torch's generic CPU kernel (`upsample_generic_Nd_kernel_impl`), bit-exact
    /// with x86 torch 2.x. Torch switches to its channels-last kernel when
    /// `outHeight + outWidth <= 128` (or with one thread and 3 channels); there the
    /// sums are ordered differently and results differ by a few float ulps (< 1e-5).
    public static func resizeBilinear(_ input: [Float], channels: Int, height: Int, width: Int,
                                      cropHeight: Int? = nil, cropWidth: Int? = nil,
                                      outHeight: Int, outWidth: Int) throws -> [Float] {
        try resizeBilinear(input, channels: channels, height: height, width: width, cropHeight: cropHeight,
                           cropWidth: cropWidth, outHeight: outHeight, outWidth: outWidth,
                           keepRows: outHeight, keepColumns: outWidth)
    }

    /// As above, but only the top-left `keepRows` x `keepColumns` of the output grid
    /// are computed and returned (the same values; the weights still use the full size).
    static func resizeBilinear(_ input: [Float], channels: Int, height: Int, width: Int,
                               cropHeight: Int?, cropWidth: Int?, outHeight: Int, outWidth: Int,
                               keepRows: Int, keepColumns: Int) throws -> [Float] {
        let inH = cropHeight ?? height, inW = cropWidth ?? width
        guard channels > 0, height > 0, width > 0, outHeight > 0, outWidth > 0,
              inH > 0, inW > 0, inH <= height, inW <= width else {
            throw ImageError.invalidArgument("bad interpolation sizes: \(channels)x\(height)x\(width) crop \(inH)x\(inW) -> \(outHeight)x\(outWidth)")
        }
        let (plane, o1) = height.multipliedReportingOverflow(by: width)
        let (total, o2) = plane.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, input.count == total else {
            throw ImageError.invalidArgument("expected \(channels)x\(height)x\(width) values, got \(input.count)")
        }
        let (outPlane, o3) = outHeight.multipliedReportingOverflow(by: outWidth)
        let (outTotal, o4) = outPlane.multipliedReportingOverflow(by: channels)
        guard !o3, !o4 else { throw ImageError.invalidArgument("output \(outHeight)x\(outWidth) is too large") }
        guard keepRows > 0, keepColumns > 0, keepRows <= outHeight, keepColumns <= outWidth else {
            throw ImageError.invalidArgument("window \(keepRows)x\(keepColumns) is outside the \(outHeight)x\(outWidth) output")
        }
        let ys = AxisWeights(inSize: inH, outSize: outHeight)
        let xs = AxisWeights(inSize: inW, outSize: outWidth)
        _ = outTotal
        let keptPlane = keepRows * keepColumns
        var out = [Float](repeating: 0, count: keptPlane * channels)
        // keepColumns <= outWidth, the length of every xs table.
        xs.index0.withUnsafeBufferPointer { x0s in xs.index1.withUnsafeBufferPointer { x1s in
        xs.lambda0.withUnsafeBufferPointer { w0s in xs.lambda1.withUnsafeBufferPointer { w1s in
        input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<channels {
                    let base = c * plane
                    for oy in 0..<keepRows {
                        let r0 = base + ys.index0[oy] * width, r1 = base + ys.index1[oy] * width
                        let h0 = ys.lambda0[oy], h1 = ys.lambda1[oy]
                        let outRow = c * keptPlane + oy * keepColumns
                        // torch's Interpolate<2>: inner (width) then outer (height),
                        // `t0 * w0 + t1 * w1`, which x86 torch builds contract to
                        // fma(t0, w0, t1 * w1); the C row kernel does so bit for bit,
                        // with the FMA instruction where Swift calls fmaf per value.
                        samq_bilinear_row(src.baseAddress! + r0, src.baseAddress! + r1, h0, h1,
                                          x0s.baseAddress!, x1s.baseAddress!, w0s.baseAddress!, w1s.baseAddress!,
                                          dst.baseAddress! + outRow, keepColumns)
                    }
                }
            }
        }
        } } } }
        return out
    }

    /// `Sam.postprocess_masks`: C x h x w low-res logits -> `inputSize` x `inputSize`
    /// (the padded model input) -> crop to the resized image -> `originalSize`.
    /// Returns C x H x W float logits.
    public static func postprocessMasks(_ lowRes: [Float], channels: Int, height: Int, width: Int,
                                        paddedSize: Int, resizedSize: ImageSize,
                                        originalSize: ImageSize) throws -> [Float] {
        guard resizedSize.width > 0, resizedSize.height > 0,
              resizedSize.width <= paddedSize, resizedSize.height <= paddedSize else {
            throw ImageError.invalidArgument("resized size \(resizedSize) exceeds the padded input \(paddedSize)")
        }
        // Only the crop window of the padded upscale is ever read, so only it is computed.
        let cropped = try resizeBilinear(lowRes, channels: channels, height: height, width: width,
                                         cropHeight: nil, cropWidth: nil, outHeight: paddedSize, outWidth: paddedSize,
                                         keepRows: resizedSize.height, keepColumns: resizedSize.width)
        return try resizeBilinear(cropped, channels: channels, height: resizedSize.height, width: resizedSize.width,
                                  outHeight: originalSize.height, outWidth: originalSize.width)
    }

    /// `postprocessMasks` then `> threshold`, computed one output row at a
    /// time: the same values bit for bit, but neither the C × h × w crop of
    /// the padded upscale nor the C × H × W float logits exist.
    ///
    /// Each `samq_bilinear_row` call is its horizontal pass on two source
    /// rows followed by a vertical pass; here the two halves run separately
    /// (`samq_bilinear_h`, `samq_bilinear_v`: the same fused multiply-adds),
    /// so a source row's horizontal pass is computed once and reused by every
    /// output row that reads it (4 to 8 of them at SAM's 4× upscale, where it
    /// was recomputed each time), the vertical passes run on contiguous rows
    /// in SIMD, an identity axis needs no gather, and the last vertical pass
    /// writes the thresholded bytes directly. Only the two rows of each pass
    /// that an output row reads are held. Returns C × H × W bytes (1 above).
    public static func thresholdedMasks(_ lowRes: [Float], channels: Int, height: Int, width: Int, paddedSize: Int,
                                        resizedSize: ImageSize, originalSize: ImageSize,
                                        threshold: Float) throws -> [UInt8] {
        let rh = resizedSize.height, rw = resizedSize.width, oh = originalSize.height, ow = originalSize.width
        guard rw > 0, rh > 0, rw <= paddedSize, rh <= paddedSize else {
            throw ImageError.invalidArgument("resized size \(resizedSize) exceeds the padded input \(paddedSize)")
        }
        guard channels > 0, height > 0, width > 0, oh > 0, ow > 0, lowRes.count == channels * height * width else {
            throw ImageError.invalidArgument("bad mask sizes: \(channels)x\(height)x\(width) (\(lowRes.count) values) -> \(oh)x\(ow)")
        }
        let (outPlane, o1) = oh.multipliedReportingOverflow(by: ow)
        let (outTotal, o2) = outPlane.multipliedReportingOverflow(by: channels)
        guard !o1, !o2 else { throw ImageError.invalidArgument("output \(oh)x\(ow) is too large") }
        // First resize: low-res -> padded square, only the resized crop kept; second: crop -> original.
        let ys1 = AxisWeights(inSize: height, outSize: paddedSize), ys2 = AxisWeights(inSize: rh, outSize: oh)
        let xs1 = RowGather(AxisWeights(inSize: width, outSize: paddedSize), count: rw)
        let xs2 = RowGather(AxisWeights(inSize: rw, outSize: ow), count: ow)
        var masks = [UInt8](repeating: 0, count: outTotal)
        // Two horizontally resampled low-res rows (width rw), one crop row,
        // two horizontally resampled crop rows (width ow).
        var scratch = [Float](repeating: 0, count: 3 * rw + 2 * ow)
        let isa = samq_isa_best()
        masks.withUnsafeMutableBufferPointer { mb in
        lowRes.withUnsafeBufferPointer { src in
        scratch.withUnsafeMutableBufferPointer { sb in
            let base = sb.baseAddress!
            let plane = height * width
            for c in 0..<channels {
                let channel = src.baseAddress! + c * plane
                var lowRows = RowPair(storage: base, width: rw)
                var cropRows = RowPair(storage: base + 2 * rw, width: ow)
                let crop = base + 2 * rw + 2 * ow
                // Crop row y resampled to the output width.
                func cropRow(_ y: Int, keeping other: Int) -> UnsafePointer<Float> {
                    cropRows.row(y, keeping: other) { target in
                        let top = lowRows.row(ys1.index0[y], keeping: -1) { xs1.resample(channel + ys1.index0[y] * width, into: $0, isa: isa) }
                        let bottom = lowRows.row(ys1.index1[y], keeping: ys1.index0[y]) {
                            xs1.resample(channel + ys1.index1[y] * width, into: $0, isa: isa)
                        }
                        samq_bilinear_v(isa, top, bottom, ys1.lambda0[y], ys1.lambda1[y], crop, rw)
                        xs2.resample(crop, into: target, isa: isa)
                    }
                }
                for oy in 0..<oh {
                    let top = cropRow(ys2.index0[oy], keeping: -1)
                    let bottom = cropRow(ys2.index1[oy], keeping: ys2.index0[oy])
                    samq_bilinear_v_threshold(isa, top, bottom, ys2.lambda0[oy], ys2.lambda1[oy], threshold,
                                              mb.baseAddress! + c * outPlane + oy * ow, ow)
                }
            }
        } } }
        return masks
    }

    /// The horizontal pass of one axis over its first `count` outputs, as the
    /// C kernels take it (32-bit indexes).
    private struct RowGather {
        let x0: [Int32], x1: [Int32], w0: [Float], w1: [Float]
        /// `in == out`: every output is fma(v, 1, v · 0) of its own input,
        /// which the vertical kernel computes without a gather.
        let identity: Bool

        init(_ axis: AxisWeights, count: Int) {
            x0 = axis.index0.prefix(count).map { Int32($0) }
            x1 = axis.index1.prefix(count).map { Int32($0) }
            w0 = Array(axis.lambda0.prefix(count))
            w1 = Array(axis.lambda1.prefix(count))
            identity = axis.index0.count == count && axis.index0.indices.allSatisfy {
                axis.index0[$0] == $0 && axis.index1[$0] == $0 && axis.lambda0[$0] == 1 && axis.lambda1[$0] == 0
            }
        }

        /// `out[i] = fma(row[x0[i]], w0[i], row[x1[i]] · w1[i])`; row holds every index.
        func resample(_ row: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, isa: samq_isa) {
            if identity {
                samq_bilinear_v(isa, row, row, 1, 0, out, x0.count)
                return
            }
            x0.withUnsafeBufferPointer { a in x1.withUnsafeBufferPointer { b in
            w0.withUnsafeBufferPointer { wa in w1.withUnsafeBufferPointer { wb in
                samq_bilinear_h(isa, row, a.baseAddress!, b.baseAddress!, wa.baseAddress!, wb.baseAddress!, out, x0.count)
            } } } }
        }
    }

    /// Two row slots over caller storage, keyed by source row: rows are
    /// requested in nondecreasing order, two at a time, so two slots hold
    /// every row that is read again.
    private struct RowPair {
        let storage: UnsafeMutablePointer<Float>
        let width: Int
        var keys = (-1, -1)

        init(storage: UnsafeMutablePointer<Float>, width: Int) {
            self.storage = storage
            self.width = width
        }

        /// Row `key`, computed into a slot by `fill` unless held; the slot of
        /// `other` (the row read with it) is never overwritten.
        mutating func row(_ key: Int, keeping other: Int,
                          fill: (UnsafeMutablePointer<Float>) -> Void) -> UnsafePointer<Float> {
            if keys.0 == key { return UnsafePointer(storage) }
            if keys.1 == key { return UnsafePointer(storage + width) }
            let slot = keys.0 == other && other >= 0 ? 1 : 0
            let target = storage + slot * width
            fill(target)
            if slot == 0 { keys.0 = key } else { keys.1 = key }
            return UnsafePointer(target)
        }
    }

    /// `masks > threshold` (SAM's `mask_threshold` is 0).
    public static func threshold(_ logits: [Float], above threshold: Float = 0) -> [Bool] {
        logits.map { $0 > threshold }
    }
}
