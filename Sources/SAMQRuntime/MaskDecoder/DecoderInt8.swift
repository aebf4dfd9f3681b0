import Foundation

/// The mask decoder's int8 machinery (int8 files): the output upscaling on
/// the int8 kernels, and one `Int8Context` per decode in flight, because the
/// automatic mask generator decodes points concurrently and a context's
/// scratch serves one caller at a time. The contexts share the thread pool
/// and the weights; a decode borrows one and gives it back.
///
/// The upscaling weights are stored f32 (in every file so far); they are
/// quantized here at load, once (256×64×4 + 64×32×4 weights for vit_b, well
/// under a millisecond), per GEMM column like every int8 weight. A file
/// converted with `--decoder-upscaling f32` keeps the upscaling in f32
/// (`upscaling == nil`).
final class DecoderInt8: @unchecked Sendable {
    /// `output_upscaling.0` and `.3` as GEMMs whose columns are (dy·2 + dx, out):
    /// each input pixel's four output pixels come out as four consecutive rows.
    let upscaling: (first: QuantizedLinear, second: QuantizedLinear)?
    private let base: Int8Context
    private let lock = NSLock()
    private var idle: [Int8Context]

    init(upscale1: ConvTranspose2x2, upscale2: ConvTranspose2x2, prefix: String, int8Upscaling: Bool,
         context: Int8Context) throws {
        func gemm(_ layer: ConvTranspose2x2, _ name: String) throws -> QuantizedLinear {
            let matrix = try PackedInt8Matrix(quantizing: layer.weight, n: 4 * layer.outChannels, k: layer.inChannels,
                                              name: name)
            return try QuantizedLinear(weight: matrix, bias: layer.bias, context: context)
        }
        upscaling = int8Upscaling
            ? (try gemm(upscale1, prefix + ".output_upscaling.0.weight"), try gemm(upscale2, prefix + ".output_upscaling.3.weight"))
            : nil
        base = context
        idle = [context]
    }

    /// Runs `body` with a context no other decode is using.
    func withContext<R>(_ body: (Int8Context) throws -> R) rethrows -> R {
        lock.lock()
        let context = idle.popLast() ?? Int8Context(isa: base.isa, pool: base.pool)
        lock.unlock()
        defer {
            lock.lock()
            idle.append(context)
            lock.unlock()
        }
        return try body(context)
    }

    /// `output_upscaling` (conv-transpose, LayerNorm2d, GELU, conv-transpose,
    /// GELU) of `[P][C]` image rows, in *block order*: row `(p·4 + q1)·4 + q2`
    /// (q = dy·2 + dx) of the `[16P][C/8]` result is output pixel
    /// `(4y + 2·dy1 + dy2, 4x + 2·dx1 + dx2)` of input pixel `p = (y, x)`.
    /// Every step is per pixel, so the two image-sized scatters to spatial
    /// order are skipped; `spatialOrder` reorders the final mask planes.
    func upscale(_ processed: [Float], norm: LayerNorm, context: Int8Context) throws -> [Float] {
        guard let (first, second) = upscaling else {
            throw Int8RuntimeError.invalidConfiguration("int8 upscaling is off for this model")
        }
        var hidden = try first.using(context)(processed)      // [P][4·C/4] = [4P][C/4]
        DecoderLayerNorm.applyInPlace(norm, &hidden, gelu: true)
        return try second.using(context)(hidden, activation: .gelu)
    }

    /// Block-order planes `[planes][16·side²]` (see `upscale`) → spatial `[planes][4·side][4·side]`.
    static func spatialOrder(_ blocks: [Float], planes: Int, side: Int) -> [Float] {
        let width = 4 * side, plane = width * width
        var out = [Float](repeating: 0, count: planes * plane)
        blocks.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                Parallel.forEach(tasks: planes * side) { task, _ in
                    let m = task / side, y = task % side
                    let from = s + m * plane + y * side * 16, to = d + m * plane + 4 * y * width
                    for x in 0..<side {
                        let block = from + x * 16
                        for q1 in 0..<4 {
                            for q2 in 0..<4 {
                                let row = 2 * (q1 >> 1) + (q2 >> 1), column = 4 * x + 2 * (q1 & 1) + (q2 & 1)
                                to[row * width + column] = block[q1 * 4 + q2]
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
