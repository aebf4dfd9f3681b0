import Foundation

/// The mask decoder's int8 machinery (int8 files): the output-upscaling
/// conv-transposes on the int8 kernels, and one `Int8Context` per decode in
/// flight, because the automatic mask generator decodes points concurrently
/// and a context's scratch serves one caller at a time. The contexts share
/// the thread pool and the weights; a decode borrows one and gives it back.
///
/// The upscaling weights are stored f32 (in every file so far); they are
/// quantized here at load, once (`PackedInt8Matrix(weights:...)`: 256×64×4 +
/// 64×32×4 weights for vit_b, well under a millisecond). A file converted with
/// `--decoder-upscaling f32` keeps the upscaling in f32 (`upscaling == nil`).
final class DecoderInt8: @unchecked Sendable {
    /// The two output-upscaling conv-transposes, or nil to run them in f32.
    let upscaling: (first: QuantizedConvTranspose2x2, second: QuantizedConvTranspose2x2)?
    private let base: Int8Context
    private let lock = NSLock()
    private var idle: [Int8Context]

    init(weights: WeightProvider, prefix: String, dim: Int, int8Upscaling: Bool, context: Int8Context) throws {
        upscaling = int8Upscaling
            ? (try QuantizedConvTranspose2x2(weights: weights, prefix: prefix + ".output_upscaling.0", inChannels: dim,
                                             outChannels: dim / 4, context: context),
               try QuantizedConvTranspose2x2(weights: weights, prefix: prefix + ".output_upscaling.3",
                                             inChannels: dim / 4, outChannels: dim / 8, context: context))
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
}
