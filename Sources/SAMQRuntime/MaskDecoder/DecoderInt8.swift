import CKernels
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The mask decoder's int8 machinery (int8 files): the fused output
/// upscaling (on the int8 kernels, or in f32 for files that keep it f32),
/// and one `Int8Context` per decode in flight, because the automatic mask
/// generator decodes points concurrently and a context's scratch serves one
/// caller at a time. The contexts share the thread pool and the weights; a
/// decode borrows one and gives it back.
///
/// The upscaling weights are stored f32 (in every file so far); they are
/// quantized here at load, once (256×64×4 + 64×32×4 weights for vit_b, well
/// under a millisecond), per GEMM column like every int8 weight. A file
/// converted with `--decoder-upscaling f32` (MobileSAM's default) keeps the
/// upscaling GEMMs in f32 (`upscaling == nil`) but runs the same fused,
/// tiled pipeline: the whole-tensor f32 path allocated 12 MB of fresh
/// intermediates per prompt, whose page faults alone cost vit_t several ms.
final class DecoderInt8: @unchecked Sendable {
    /// `output_upscaling.0` and `.3` as GEMMs whose columns are (dy·2 + dx, out):
    /// each input pixel's four output pixels come out as four consecutive rows.
    let upscaling: (first: QuantizedLinear, second: QuantizedLinear)?
    /// The transformer's int8 projections over image rows.
    let attention: TwoWayInt8Projections
    /// The same layers in f32, run when `upscaling` is nil.
    let floatUpscaling: (first: ConvTranspose2x2, second: ConvTranspose2x2)
    private let base: Int8Context
    /// The pool every context of this decoder shares.
    var pool: ThreadPool { base.pool }
    /// The precision of the softmax·values products, the same for every context.
    var attentionProducts: AttentionProductPrecision { base.attentionProducts }
    private let lock = Lock()
    private var idle: [Int8Context]

    init(transformer: TwoWayTransformer, upscale1: ConvTranspose2x2, upscale2: ConvTranspose2x2, prefix: String, int8Upscaling: Bool,
         context: Int8Context) throws {
        func gemm(_ layer: ConvTranspose2x2, _ name: String) throws -> QuantizedLinear {
            let matrix = try PackedInt8Matrix(quantizing: layer.weight, n: 4 * layer.outChannels, k: layer.inChannels,
                                              name: name)
            return try QuantizedLinear(weight: matrix, bias: layer.bias, context: context)
        }
        upscaling = int8Upscaling
            ? (try gemm(upscale1, prefix + ".output_upscaling.0.weight"), try gemm(upscale2, prefix + ".output_upscaling.3.weight"))
            : nil
        floatUpscaling = (upscale1, upscale2)
        attention = try TwoWayInt8Projections(transformer: transformer, context: context)
        base = context
        idle = [context]
    }

    /// Runs `body` with a context no other decode is using.
    func withContext<R>(_ body: (Int8Context) throws -> R) rethrows -> R {
        lock.lock()
        let context = idle.popLast() ?? Int8Context(isa: base.isa, pool: base.pool, attentionProducts: base.attentionProducts)
        lock.unlock()
        defer {
            lock.lock()
            idle.append(context)
            lock.unlock()
        }
        return try body(context)
    }

    /// Input pixels per task of `upscaledMasks`: its scratch (≈ 170 KB for
    /// vit_b) stays in L2, 4096 pixels still make 86 tasks, and both GEMMs
    /// get whole 12-row VNNI tiles (48 and 192 rows; 32 left 8- and 8-row tails).
    static let upscalingTile = 48

    /// `output_upscaling` (conv-transpose, LayerNorm2d, GELU, conv-transpose,
    /// GELU) of `[P][C]` image rows followed by the hypernetwork product
    /// `masks[t] = hyper[t] · upscaled`, fused per tile of input pixels.
    ///
    /// Every step is per pixel (each GEMM row is quantized on its own), so a
    /// tile computes exactly the values of the whole-tensor pipeline, but the
    /// `[4P][C/4]` hidden and `[16P][C/8]` upscaled tensors (4 + 8 MB for
    /// vit_b) never exist: each tile's intermediates stay in its worker's
    /// scratch, in cache, and only the requested mask planes are computed,
    /// written straight to spatial order. The conv-transposes run on the int8
    /// kernels (`upscaling`) or in f32 (`floatUpscaling`, then bit-identical
    /// to `MaskDecoder`'s whole-tensor f32 path). `hyper` is `[count][C/8]`;
    /// returns `[count][4·side][4·side]`. `quantized`: `processed` already
    /// quantized per row (the last block's `plain` keys for the final
    /// attention's values), the bytes the first int8 GEMM would make of it,
    /// so they are not made twice.
    func upscaledMasks(_ processed: [Float], quantized: QuantizedRows? = nil, norm: LayerNorm, hyper: [Float],
                       count: Int, side: Int, context: Int8Context) throws -> [Float] {
        let (float1, float2) = floatUpscaling
        let pixels = side * side, dim = float1.inChannels
        let hidden = float2.inChannels, channels = float2.outChannels      // C/4, C/8
        let n1 = 4 * float1.outChannels, n2 = 4 * channels
        let int8Shapes = upscaling.map { $0.first.inFeatures == dim && $0.first.outFeatures == n1
            && $0.second.inFeatures == hidden && $0.second.outFeatures == n2 } ?? true
        guard processed.count == pixels * dim, float1.outChannels == hidden, norm.dimension == hidden, int8Shapes,
              count >= 0, hyper.count == count * channels else {
            throw Int8RuntimeError.invalidConfiguration("upscaling shapes: \(processed.count) values for \(pixels)×\(dim), hyper \(hyper.count)")
        }
        let width = 4 * side, plane = width * width
        let tile = Self.upscalingTile
        let kp1 = upscaling?.first.weight.layout.paddedK ?? 0, kp2 = upscaling?.second.weight.layout.paddedK ?? 0
        let reused = quantized.flatMap { $0.rows == pixels && $0.cols == dim && $0.paddedK == kp1 ? $0 : nil }
        // Per-worker scratch, 64-byte aligned pieces: h, u, the mask values d
        // (`[count][16·tile]`), and for int8 q1, s1, q2, s2.
        let pieces = [4 * tile * n1, 16 * tile * n2, 64 * tile * count, tile * kp1, 4 * tile, 4 * tile * kp2, 16 * tile]
            .map { roundUp($0, 64) }
        let offsets = pieces.indices.map { pieces[..<$0].reduce(0, +) }
        let scratchBytes = pieces.reduce(0, +)
        let isa = context.isa
        let space = context.workspace
        space.resetStatus()
        let tasks = (pixels + tile - 1) / tile
        let masks = try makeFloatArray(count: count * plane) { out in
            processed.withUnsafeBufferPointer { input in
                hyper.withUnsafeBufferPointer { hb in
                    float1.weight.withUnsafeBufferPointer { w1 in
                        float2.weight.withUnsafeBufferPointer { w2 in
                            float1.bias.withUnsafeBufferPointer { b1 in
                                float2.bias.withUnsafeBufferPointer { b2 in
                            context.pool.parallelFor(count: tasks) { task, worker in
                                let raw = space.perWorker[worker].reserve(bytes: scratchBytes)
                                let h = (raw + offsets[0]).assumingMemoryBound(to: Float.self)
                                let u = (raw + offsets[1]).assumingMemoryBound(to: Float.self)
                                let d = (raw + offsets[2]).assumingMemoryBound(to: Float.self)
                                let p0 = task * tile, rows = min(tile, pixels - p0)
                                let x = input.baseAddress! + p0 * dim
                                if let (first, second) = upscaling {
                                    let q1 = (raw + offsets[3]).assumingMemoryBound(to: Int8.self)
                                    let s1 = (raw + offsets[4]).assumingMemoryBound(to: Float.self)
                                    let q2 = (raw + offsets[5]).assumingMemoryBound(to: Int8.self)
                                    let s2 = (raw + offsets[6]).assumingMemoryBound(to: Float.self)
                                    // output_upscaling.0: [rows][C] → [rows][4·C/4] = [4·rows][C/4].
                                    let a1: UnsafePointer<Int8>, r1: UnsafePointer<Float>
                                    if let reused {
                                        (a1, r1) = (reused.values + p0 * kp1, reused.scales + p0)
                                    } else {
                                        samq_quantize_rows(isa.raw, x, rows, dim, dim, q1, kp1, s1)
                                        (a1, r1) = (UnsafePointer(q1), UnsafePointer(s1))
                                    }
                                    var status = Int8GEMM.run(isa: isa, m: rows, n: n1, k: dim, a: a1, lda: kp1, rowScales: r1,
                                                              weights: first.weight.payload, bias: b1.baseAddress, residual: nil,
                                                              ldr: n1, c: h, ldc: n1, gelu: false, rows: 0..<rows, columns: 0..<n1)
                                    // .1 LayerNorm2d and .2 GELU per output pixel, each row quantized
                                    // for .3 while it is in L1 (samq_quantize_rows' bytes).
                                    DecoderLayerNorm.applyRows(norm, h, rows: 4 * rows, gelu: true, quantizingInto: q2,
                                                               ldq: kp2, scales: s2)
                                    // .3 and .4 GELU: [4·rows][C/4] → [4·rows][4·C/8] = [16·rows][C/8].
                                    status |= Int8GEMM.run(isa: isa, m: 4 * rows, n: n2, k: hidden, a: q2, lda: kp2,
                                                           rowScales: s2, weights: second.weight.payload, bias: b2.baseAddress,
                                                           residual: nil, ldr: n2, c: u, ldc: n2, gelu: true,
                                                           rows: 0..<(4 * rows), columns: 0..<n2)
                                    if status != 0 { space.status[worker] = status; return }
                                } else {
                                    // The same steps in f32, with `ConvTranspose2x2`'s products.
                                    MatMul.f32(m: rows, n: n1, k: dim, a: x, lda: dim, b: w1.baseAddress!, ldb: dim,
                                               layout: .nk, c: h, ldc: n1, bias: b1.baseAddress, parallel: false)
                                    DecoderLayerNorm.applyRows(norm, h, rows: 4 * rows, gelu: true)
                                    MatMul.f32(m: 4 * rows, n: n2, k: hidden, a: h, lda: hidden, b: w2.baseAddress!,
                                               ldb: hidden, layout: .nk, c: u, ldc: n2, bias: b2.baseAddress,
                                               activation: .gelu, parallel: false)
                                }
                                // d[t][r] = hyper[t]·u[r] for the 16·rows upscaled pixels: `maskPlanes`'
                                // whole-tensor GEMM restricted to the tile's columns (same bits), with
                                // vector epilogues along the pixels (pixel rows × 3 planes measured 2.3× slower).
                                MatMul.f32(m: count, n: 16 * rows, k: channels, a: hb.baseAddress!, lda: channels, b: u,
                                           ldb: channels, layout: .nk, c: d, ldc: 16 * tile, parallel: false)
                                // Row (i·4 + q1)·4 + q2 of u (q = dy·2 + dx of each conv-transpose) is output
                                // pixel (4y + 2·dy1 + dy2, 4x + 2·dx1 + dx2) of input pixel p0 + i = (y, x):
                                // output row 4y + oy, columns 4x ..< 4x + 4 are q = a, a + 1, a + 4, a + 5
                                // with a = 8·(oy >> 1) + 2·(oy & 1). Plane by plane, four values per store run.
                                for t in 0..<count {
                                    let plane0 = out + t * plane, dt = d + t * 16 * tile
                                    for i in 0..<rows {
                                        let y = (p0 + i) / side, x = (p0 + i) % side
                                        let src = dt + i * 16
                                        for oy in 0..<4 {
                                            let a = 8 * (oy >> 1) + 2 * (oy & 1)
                                            let dst = plane0 + (4 * y + oy) * width + 4 * x
                                            dst[0] = src[a]; dst[1] = src[a + 1]; dst[2] = src[a + 4]; dst[3] = src[a + 5]
                                        }
                                    }
                                }
                            }
                                }
                            }
                        }
                    }
                }
            }
        }
        if space.failed { throw Int8RuntimeError.kernelRejected("decoder upscaling gemm (\(pixels) pixels)") }
        return masks
    }
}
