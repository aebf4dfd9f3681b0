#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQFormat

/// SAM's mask decoder (`MaskDecoder` in mask_decoder.py).
final class MaskDecoder {
    let dim: Int
    let maskTokenCount: Int
    let outputTokens: [Float]          // iou_token then mask_tokens, [1 + maskTokens][C]
    let transformer: TwoWayTransformer
    let upscale1: ConvTranspose2x2
    let upscaleNorm: LayerNorm
    let upscale2: ConvTranspose2x2
    let hypernetworks: [MLP]
    let iouHead: MLP
    /// The int8 path (int8 files unless `SAMQ_PRECISION=f32`); nil runs the
    /// f32 reference graph.
    let int8: DecoderInt8?

    /// The last image's prompt-independent transformer work, keyed by the
    /// exact inputs it came from (`Array ==` is O(1) when the caller passes the
    /// same arrays again, as the predictor and the grid decoder do). Locked:
    /// the automatic mask generator decodes points concurrently.
    private let cacheLock = Lock()
    private var cache: (image: [Float], imagePE: [Float], dense: DenseEmbedding, prefix: TwoWayImagePrefix)?

    /// `precision` defaults to the file's (`EncoderPrecision.automatic`), as for the encoder;
    /// `attentionProducts` to the environment's (`Int8Context.fromEnvironment`).
    init(weights: WeightProvider, precision: EncoderPrecision? = nil,
         attentionProducts: AttentionProductPrecision? = nil) throws {
        let d = weights.config.maskDecoder
        let dim = d.transformerDim
        self.dim = dim
        guard dim > 0, dim % 8 == 0, d.numMultimaskOutputs >= 1, d.transformerDepth >= 1 else {
            throw SAMRuntimeError.invalidConfig("decoder width \(dim) must be a positive multiple of 8 with at least one layer and one mask")
        }
        guard weights.config.promptEncoder.embedDim == dim, weights.config.imageEncoder.outChans == dim else {
            throw SAMRuntimeError.invalidConfig("prompt embed dim, encoder out_chans and decoder width must agree")
        }
        maskTokenCount = d.numMultimaskOutputs + 1
        let p = "mask_decoder"
        outputTokens = try weights.tensor(p + ".iou_token.weight", shape: [1, dim])
            + weights.tensor(p + ".mask_tokens.weight", shape: [maskTokenCount, dim])
        transformer = try TwoWayTransformer(weights: weights, decoder: d)
        upscale1 = try ConvTranspose2x2(weights: weights, prefix: p + ".output_upscaling.0", inChannels: dim,
                                        outChannels: dim / 4)
        upscaleNorm = try LayerNorm(weights: weights, prefix: p + ".output_upscaling.1", dimension: dim / 4,
                                    epsilon: LayerNorm.layerNorm2dEpsilon)
        upscale2 = try ConvTranspose2x2(weights: weights, prefix: p + ".output_upscaling.3", inChannels: dim / 4,
                                        outChannels: dim / 8)
        hypernetworks = try (0..<maskTokenCount).map {
            try MLP(weights: weights, prefix: "\(p).output_hypernetworks_mlps.\($0)", inputDim: dim, hiddenDim: dim,
                    outputDim: dim / 8, layerCount: 3)
        }
        iouHead = try MLP(weights: weights, prefix: p + ".iou_prediction_head", inputDim: dim,
                          hiddenDim: d.iouHeadHiddenDim, outputDim: maskTokenCount, layerCount: d.iouHeadDepth)
        let precision = try precision ?? EncoderPrecision.automatic(for: weights)
        let int8Upscaling = (weights as? SAMQFileWeights)?.file.metadata.quantization.decoderUpscaling != "f32"
        int8 = precision == .int8
            ? try DecoderInt8(transformer: transformer, upscale1: upscale1, upscale2: upscale2, prefix: p,
                              int8Upscaling: int8Upscaling,
                              context: try Self.int8Context(attentionProducts: attentionProducts))
            : nil
    }

    private static func int8Context(attentionProducts: AttentionProductPrecision?) throws -> Int8Context {
        guard let attentionProducts else { return try Int8Context.fromEnvironment() }
        return Int8Context(isa: try KernelISA.resolve(), attentionProducts: attentionProducts)
    }

    /// `image`, `imagePE` and `dense` are `[h*w][C]`; `sparse` is `[N][C]`.
    /// Returns the selected masks `[masks][4h*4w]` and their IoU predictions.
    /// Safe to call concurrently (each int8 decode borrows its own scratch).
    func predict(image: [Float], imagePE: [Float], sparse: [Float], dense: DenseEmbedding, side: Int,
                 multimask: Bool) throws -> (masks: [Float], iou: [Float], count: Int) {
        let tokens = outputTokens + sparse
        // keys = image + dense, one uniquely owned array the transformer updates in place.
        var keys = [Float]()
        let prefix = imagePrefix(image: image, imagePE: imagePE, dense: dense, source: &keys)
        // On a cache hit `image + dense` is built where the transformer first reads it.
        let deferred = keys.isEmpty ? DeferredKeys(image: image, dense: dense) : nil
        // Only the returned masks are computed: tokens 1... with multimask, else token 0.
        let selected = multimask ? 1..<maskTokenCount : 0..<1
        let pixels = 16 * side * side
        let iou: [Float], masks: [Float]
        if let int8 {
            (iou, masks) = try int8.withContext { context in
                let (hs, quantized) = try transformer.apply(prefix: prefix, keys: &keys, tokens: tokens, int8: context,
                                                            projections: int8.attention, deferredKeys: deferred)
                let processed = keys
                let (hyper, predictions) = tokenHeads(hs, selected)
                // Fused and tiled, with int8 or f32 conv-transposes as the file says.
                return (predictions, try int8.upscaledMasks(processed, quantized: quantized, norm: upscaleNorm,
                                                            hyper: hyper, count: selected.count, side: side,
                                                            context: context))
            }
        } else {
            let tokensOut = try transformer.apply(prefix: prefix, keys: &keys, tokens: tokens, deferredKeys: deferred).tokens
            let processed = keys
            let (hyper, predictions) = tokenHeads(tokensOut, selected)
            (iou, masks) = (predictions, maskPlanes(hyper, count: selected.count, upscaled: upscale(processed, side: side)))
        }
        precondition(masks.count == selected.count * pixels, "internal: mask planes")
        return (masks, Array(iou[selected]), selected.count)
    }

    /// `hyper_in` rows for the mask tokens in `selected` (`[count][C/8]`) and
    /// the IoU head's predictions (`[maskTokens]`), from the transformer's
    /// output tokens `hs`. The MLPs are independent, and their f32 weights
    /// (~0.5 MB each for vit_b) stream from memory for one token row each:
    /// they run as tasks, so two cores share the stream (each MLP is the
    /// same computation wherever it runs).
    private func tokenHeads(_ hs: [Float], _ selected: Range<Int>) -> (hyper: [Float], iou: [Float]) {
        let outputs = Parallel.map(tasks: selected.count + 1) { task in
            guard task < selected.count else { return iouHead(Array(hs[0..<dim])) }
            let i = selected.lowerBound + task
            return hypernetworks[i](Array(hs[((1 + i) * dim)..<((2 + i) * dim)]))
        }
        return (outputs[..<selected.count].flatMap { $0 }, outputs[selected.count])
    }

    /// masks = hyper_in @ upscaled_embedding: `[count][C/8] · [pixels][C/8]ᵀ`.
    private func maskPlanes(_ hyper: [Float], count: Int, upscaled: [Float]) -> [Float] {
        let hyperDim = dim / 8
        return MatMul.linear(hyper, rows: count, inFeatures: hyperDim, weight: upscaled,
                             outFeatures: upscaled.count / hyperDim, bias: nil)
    }

    /// `output_upscaling` in f32: conv-transpose, LayerNorm2d, GELU,
    /// conv-transpose, GELU, from `[side²][C]` to `[(4·side)²][C/8]`.
    private func upscale(_ processed: [Float], side: Int) -> [Float] {
        var upscaled = upscale1(processed, height: side, width: side)
        DecoderLayerNorm.applyInPlace(upscaleNorm, &upscaled)
        DecoderGELU.applyInPlace(&upscaled)
        return upscale2(upscaled, height: 2 * side, width: 2 * side, activation: .gelu)
    }

    /// `transformer.imagePrefix` for `image + dense`, from the cache when the
    /// inputs are unchanged; on a miss, the `image + dense` it computed is
    /// moved into `source` (left untouched on a hit).
    func imagePrefix(image: [Float], imagePE: [Float], dense: DenseEmbedding,
                     source: inout [Float]) -> TwoWayImagePrefix {
        cacheLock.lock()
        if let cache, cache.image == image, cache.dense == dense, cache.imagePE == imagePE {
            let prefix = cache.prefix
            cacheLock.unlock()
            return prefix
        }
        cacheLock.unlock()
        var computed = dense.added(to: image)
        // The int8 path keeps layer 0's image→token queries quantized (per image, not per prompt).
        let prefix = int8.map { int8 in
            int8.withContext { transformer.imagePrefix(source: computed, imagePE: imagePE, int8: $0) }
        } ?? transformer.imagePrefix(source: computed, imagePE: imagePE)
        cacheLock.lock()
        cache = (image, imagePE, dense, prefix)
        cacheLock.unlock()
        swap(&source, &computed)
        return prefix
    }

    /// Drops the cached image work (its memory); results never depend on it.
    func clearCache() {
        cacheLock.lock()
        cache = nil
        cacheLock.unlock()
    }
}
