import CKernels
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
    private let lock = Lock()
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

    /// Input pixels per task of `upscaledMasks`: its scratch (≈ 110 KB for
    /// vit_b) stays in L2, and 4096 pixels still make 128 tasks.
    static let upscalingTile = 32

    /// `output_upscaling` (conv-transpose, LayerNorm2d, GELU, conv-transpose,
    /// GELU) of `[P][C]` image rows followed by the hypernetwork product
    /// `masks[t] = hyper[t] · upscaled`, fused per tile of input pixels.
    ///
    /// Every step is per pixel (each GEMM row is quantized on its own), so a
    /// tile computes exactly the values of the whole-tensor pipeline, but the
    /// `[4P][C/4]` hidden and `[16P][C/8]` upscaled tensors (4 + 8 MB for
    /// vit_b) never exist: each tile's intermediates stay in its worker's
    /// scratch, in cache, and only the requested mask planes are computed,
    /// written straight to spatial order. `hyper` is `[count][C/8]`; returns
    /// `[count][4·side][4·side]`.
    func upscaledMasks(_ processed: [Float], norm: LayerNorm, hyper: [Float], count: Int, side: Int,
                       context: Int8Context) throws -> [Float] {
        guard let (first, second) = upscaling else {
            throw Int8RuntimeError.invalidConfiguration("int8 upscaling is off for this model")
        }
        let pixels = side * side, dim = first.inFeatures
        let hidden = second.inFeatures, channels = second.outFeatures / 4      // C/4, C/8
        guard processed.count == pixels * dim, first.outFeatures == 4 * hidden, norm.dimension == hidden,
              hyper.count == count * channels else {
            throw Int8RuntimeError.invalidConfiguration("upscaling shapes: \(processed.count) values for \(pixels)×\(dim), hyper \(hyper.count)")
        }
        let width = 4 * side, plane = width * width
        let tile = Self.upscalingTile
        let kp1 = first.weight.layout.paddedK, kp2 = second.weight.layout.paddedK
        let n1 = first.outFeatures, n2 = second.outFeatures
        // Per-worker scratch, 64-byte aligned pieces: q1, s1, h, q2, s2, u.
        let pieces = [tile * kp1, 4 * tile, 4 * tile * n1, 4 * tile * kp2, 16 * tile, 16 * tile * n2].map { roundUp($0, 64) }
        let offsets = pieces.indices.map { pieces[..<$0].reduce(0, +) }
        let scratchBytes = pieces.reduce(0, +)
        let isa = context.isa
        let space = context.workspace
        space.resetStatus()
        let tasks = (pixels + tile - 1) / tile
        let masks = try makeFloatArray(count: count * plane) { out in
            processed.withUnsafeBufferPointer { input in
                hyper.withUnsafeBufferPointer { hb in
                    withOptional(first.bias) { bias1 in
                        withOptional(second.bias) { bias2 in
                            context.pool.parallelFor(count: tasks) { task, worker in
                                let raw = space.perWorker[worker].reserve(bytes: scratchBytes)
                                let q1 = (raw + offsets[0]).assumingMemoryBound(to: Int8.self)
                                let s1 = (raw + offsets[1]).assumingMemoryBound(to: Float.self)
                                let h = (raw + offsets[2]).assumingMemoryBound(to: Float.self)
                                let q2 = (raw + offsets[3]).assumingMemoryBound(to: Int8.self)
                                let s2 = (raw + offsets[4]).assumingMemoryBound(to: Float.self)
                                let u = (raw + offsets[5]).assumingMemoryBound(to: Float.self)
                                let p0 = task * tile, rows = min(tile, pixels - p0)
                                // output_upscaling.0: [rows][C] → [rows][4·C/4] = [4·rows][C/4].
                                samq_quantize_rows(isa.raw, input.baseAddress! + p0 * dim, rows, dim, dim, q1, kp1, s1)
                                var status = Int8GEMM.run(isa: isa, m: rows, n: n1, k: dim, a: q1, lda: kp1, rowScales: s1,
                                                          weights: first.weight.payload, bias: bias1, residual: nil, ldr: n1,
                                                          c: h, ldc: n1, gelu: false, rows: 0..<rows, columns: 0..<n1)
                                // .1 LayerNorm2d and .2 GELU per output pixel.
                                DecoderLayerNorm.applyRows(norm, h, rows: 4 * rows, gelu: true)
                                // .3 and .4 GELU: [4·rows][C/4] → [4·rows][4·C/8] = [16·rows][C/8].
                                samq_quantize_rows(isa.raw, h, 4 * rows, hidden, hidden, q2, kp2, s2)
                                status |= Int8GEMM.run(isa: isa, m: 4 * rows, n: n2, k: hidden, a: q2, lda: kp2, rowScales: s2,
                                                       weights: second.weight.payload, bias: bias2, residual: nil, ldr: n2,
                                                       c: u, ldc: n2, gelu: true, rows: 0..<(4 * rows), columns: 0..<n2)
                                if status != 0 { space.status[worker] = status; return }
                                // Row (i·4 + q1)·4 + q2 of u (q = dy·2 + dx of each conv-transpose) is output
                                // pixel (4y + 2·dy1 + dy2, 4x + 2·dx1 + dx2) of input pixel p0 + i = (y, x).
                                for i in 0..<rows {
                                    let y = (p0 + i) / side, x = (p0 + i) % side
                                    for q in 0..<16 {
                                        let q1 = q >> 2, q2 = q & 3
                                        let spot = (4 * y + 2 * (q1 >> 1) + (q2 >> 1)) * width + 4 * x + 2 * (q1 & 1) + (q2 & 1)
                                        let row = u + (i * 16 + q) * channels
                                        for t in 0..<count {
                                            out[t * plane + spot] = Self.dot(row, hb.baseAddress! + t * channels, count: channels)
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

    /// `Σ a[i]·b[i]`: the hypernetwork product of one upscaled pixel (32 channels for vit_b).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var i = 0
        var acc = SIMD16<Float>()
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 16 <= count {
            acc += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
            i += 16
        }
        var sum = acc.sum()
        while i < count { sum += a[i] * b[i]; i += 1 }
        return sum
    }
}
