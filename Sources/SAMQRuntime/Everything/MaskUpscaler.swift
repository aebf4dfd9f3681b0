import SAMQImage

/// `Sam.postprocess_masks` for one low-res logit plane, specialised for the
/// generator, which upscales thousands of planes of one crop size:
///
/// - the interpolation weights are computed once per crop;
/// - each source row is interpolated horizontally once and reused by every
///   output row that reads it (torch computes `t0`, `t1` per output pixel, but
///   they depend only on the source row and output column, so the values are the
///   same);
/// - torch's x86 kernel contracts `t0 * w0 + t1 * w1` into `fma(t0, w0, t1 * w1)`.
///   Without FMA in the compile target, `Float.addingProduct` is a libm call per
///   pixel, so the fma is evaluated in Double instead: the product of two floats
///   is exact in Double and the sum is rounded twice (to Double, then Float).
///   That equals the single-rounded fma except when the Double sum lies exactly
///   on a Float rounding midpoint, which needs ~29 specific low bits and is not
///   seen in practice; `EverythingUpscaleTests` checks equality with
///   `MaskPostprocessing.postprocessMasks` bit for bit.
struct MaskUpscaler: Sendable {
    /// torch's `compute_source_index_and_lambda` (align_corners=False) along one axis.
    struct Axis: Sendable {
        var index0: [Int32] = []
        var index1: [Int32] = []
        var lambda0: [Float] = []
        var lambda1: [Float] = []

        /// Weights of the first `keep` outputs of an `inSize -> outSize` resize.
        init(inSize: Int, outSize: Int, keep: Int) {
            let scale = Float(inSize) / Float(outSize)
            for dst in 0..<keep {
                if inSize == outSize {
                    index0.append(Int32(dst)); index1.append(Int32(dst)); lambda0.append(1); lambda1.append(0)
                    continue
                }
                var real = scale * (Float(dst) + 0.5) - 0.5
                if real < 0 { real = 0 }
                let i0 = min(Int(real.rounded(.down)), inSize - 1)
                let l1 = min(max(real - Float(i0), 0), 1)
                index0.append(Int32(i0))
                index1.append(Int32(i0 + (i0 < inSize - 1 ? 1 : 0)))
                lambda1.append(l1)
                lambda0.append(1 - l1)
            }
        }
    }

    /// One separable bilinear resize: source `rows × columns` to `y.count × x.count`.
    struct Stage: Sendable {
        var sourceRows: Int
        var sourceColumns: Int
        var y: Axis
        var x: Axis
        var outRows: Int { y.index0.count }
        var outColumns: Int { x.index0.count }
    }

    let lowRes: Int
    /// low-res -> padded model input, cropped to the resized image.
    let first: Stage
    /// resized image -> original (crop) size.
    let second: Stage

    var outputWidth: Int { second.outColumns }
    var outputHeight: Int { second.outRows }

    init(lowResSize: Int, paddedSize: Int, resizedSize: ImageSize, originalSize: ImageSize) {
        lowRes = lowResSize
        first = Stage(sourceRows: lowResSize, sourceColumns: lowResSize,
                      y: Axis(inSize: lowResSize, outSize: paddedSize, keep: resizedSize.height),
                      x: Axis(inSize: lowResSize, outSize: paddedSize, keep: resizedSize.width))
        second = Stage(sourceRows: resizedSize.height, sourceColumns: resizedSize.width,
                       y: Axis(inSize: resizedSize.height, outSize: originalSize.height, keep: originalSize.height),
                       x: Axis(inSize: resizedSize.width, outSize: originalSize.width, keep: originalSize.width))
    }

    /// Upscales `plane` (`lowRes²` logits) to `outputHeight × outputWidth`, row-major.
    func upscale(_ plane: UnsafeBufferPointer<Float>) -> [Float] {
        precondition(plane.count == lowRes * lowRes, "internal: low-res plane size")
        var middle = [Float](repeating: 0, count: first.outRows * first.outColumns)
        middle.withUnsafeMutableBufferPointer { Self.resize(plane, stage: first, into: $0) }
        var out = [Float](repeating: 0, count: second.outRows * second.outColumns)
        middle.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { Self.resize(source, stage: second, into: $0) }
        }
        return out
    }

    /// `fma(a, b, c)` for floats via Double (see the type's comment).
    @inline(__always)
    static func fusedMultiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float {
        Float(Double(a) * Double(b) + Double(c))
    }

    private static func resize(_ source: UnsafeBufferPointer<Float>, stage: Stage,
                               into out: UnsafeMutableBufferPointer<Float>) {
        let columns = stage.outColumns
        // Horizontal pass for the source rows in use, cached by row (two live rows
        // suffice: output rows read source rows in non-decreasing order).
        var cache = [Float](repeating: 0, count: 2 * columns)
        var cachedRow = [-1, -1]
        stage.x.index0.withUnsafeBufferPointer { x0 in
        stage.x.index1.withUnsafeBufferPointer { x1 in
        stage.x.lambda0.withUnsafeBufferPointer { w0 in
        stage.x.lambda1.withUnsafeBufferPointer { w1 in
        cache.withUnsafeMutableBufferPointer { cache in
            func horizontal(_ row: Int) -> UnsafeMutablePointer<Float> {
                if cachedRow[0] == row { return cache.baseAddress! }
                if cachedRow[1] == row { return cache.baseAddress! + columns }
                // Replace the slot holding the smaller (older) row.
                let slot = cachedRow[0] < cachedRow[1] ? 0 : 1
                let dst = cache.baseAddress! + slot * columns
                let src = source.baseAddress! + row * stage.sourceColumns
                for ox in 0..<columns {
                    // torch: t = src[x1] * w1, then fma(src[x0], w0, t)
                    dst[ox] = fusedMultiplyAdd(src[Int(x0[ox])], w0[ox], src[Int(x1[ox])] * w1[ox])
                }
                cachedRow[slot] = row
                return dst
            }
            for oy in 0..<stage.outRows {
                let h0 = stage.y.lambda0[oy], h1 = stage.y.lambda1[oy]
                let top = horizontal(Int(stage.y.index0[oy]))
                let bottom = horizontal(Int(stage.y.index1[oy]))
                let row = out.baseAddress! + oy * columns
                for ox in 0..<columns {
                    row[ox] = fusedMultiplyAdd(top[ox], h0, bottom[ox] * h1)
                }
            }
        }
        }
        }
        }
        }
    }
}
