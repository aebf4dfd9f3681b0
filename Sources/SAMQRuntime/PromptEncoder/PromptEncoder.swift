import SAMQFormat

/// A point prompt in the model input frame (after `ResizeLongestSide.apply_coords`).
struct PromptPoint {
    var x: Float
    var y: Float
    /// 1 foreground, 0 background, -1 padding ("not a point").
    var label: Int
}

/// SAM's prompt encoder (`PromptEncoder` in prompt_encoder.py): sparse
/// embeddings for points and boxes, dense embeddings for a mask input.
final class PromptEncoder {
    let embedDim: Int
    let embeddingSize: Int
    let inputImageSize: Int
    let positionEmbedding: PositionEmbeddingRandom
    let pointEmbeddings: [[Float]]    // 0 background, 1 foreground, 2/3 box corners
    let notAPointEmbedding: [Float]
    let noMaskEmbedding: [Float]
    let downscale1: Conv2d
    let downscaleNorm1: LayerNorm
    let downscale2: Conv2d
    let downscaleNorm2: LayerNorm
    let downscale3: Conv2d
    /// `get_dense_pe()` is input independent: computed once, channels-last `[h*w][C]`.
    let densePositionalEncoding: [Float]
    init(weights: WeightProvider) throws {
        let config = weights.config
        let dim = config.promptEncoder.embedDim
        let maskChannels = config.promptEncoder.maskInChans
        guard dim > 0, dim % 2 == 0, maskChannels >= 4, maskChannels % 4 == 0 else {
            throw SAMRuntimeError.invalidConfig("prompt embed dim \(dim) must be even and mask_in_chans \(maskChannels) a multiple of 4")
        }
        embedDim = dim
        embeddingSize = config.embeddingSize
        inputImageSize = config.imageEncoder.imgSize
        positionEmbedding = try PositionEmbeddingRandom(weights: weights, prefix: "prompt_encoder.pe_layer", features: dim / 2)
        pointEmbeddings = try (0..<4).map {
            try weights.tensor("prompt_encoder.point_embeddings.\($0).weight", shape: [1, dim])
        }
        notAPointEmbedding = try weights.tensor("prompt_encoder.not_a_point_embed.weight", shape: [1, dim])
        noMaskEmbedding = try weights.tensor("prompt_encoder.no_mask_embed.weight", shape: [1, dim])
        let p = "prompt_encoder.mask_downscaling"
        downscale1 = try Conv2d(weights: weights, prefix: p + ".0", inChannels: 1, outChannels: maskChannels / 4,
                                kernel: 2, stride: 2)
        downscaleNorm1 = try LayerNorm(weights: weights, prefix: p + ".1", dimension: maskChannels / 4,
                                       epsilon: LayerNorm.layerNorm2dEpsilon)
        downscale2 = try Conv2d(weights: weights, prefix: p + ".3", inChannels: maskChannels / 4,
                                outChannels: maskChannels, kernel: 2, stride: 2)
        downscaleNorm2 = try LayerNorm(weights: weights, prefix: p + ".4", dimension: maskChannels,
                                       epsilon: LayerNorm.layerNorm2dEpsilon)
        downscale3 = try Conv2d(weights: weights, prefix: p + ".6", inChannels: maskChannels, outChannels: dim, kernel: 1)
        densePositionalEncoding = positionEmbedding.dense(height: config.embeddingSize, width: config.embeddingSize)
    }

    /// Side of the mask input, `4 × embedding size` (256 for official models).
    var maskInputSize: Int { 4 * embeddingSize }

    /// Sparse embeddings `[tokens][C]`: the points (plus a padding point when
    /// there is no box, as the reference does), then the two box corners.
    func sparseEmbeddings(points: [PromptPoint], box: [Float]?) -> [Float] {
        var all = points.map { PromptPoint(x: $0.x + 0.5, y: $0.y + 0.5, label: $0.label) }  // pixel centres
        if !points.isEmpty && box == nil {
            all.append(PromptPoint(x: 0, y: 0, label: -1))   // padding point, not shifted
        }
        let boxTokens = box == nil ? 0 : 2
        var out = [Float](repeating: 0, count: (all.count + boxTokens) * embedDim)
        out.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            for (i, point) in all.enumerated() {
                let row = base + i * embedDim
                positionEmbedding.encode(pixelX: point.x, pixelY: point.y, imageHeight: inputImageSize,
                                         imageWidth: inputImageSize, into: row)
                switch point.label {
                case -1:
                    for c in 0..<embedDim { row[c] = 0 + notAPointEmbedding[c] }
                case 0:
                    for c in 0..<embedDim { row[c] += pointEmbeddings[0][c] }
                case 1:
                    for c in 0..<embedDim { row[c] += pointEmbeddings[1][c] }
                default:
                    break   // the reference leaves other labels as bare positional encodings
                }
            }
            if let box {
                for corner in 0..<2 {
                    let row = base + (all.count + corner) * embedDim
                    positionEmbedding.encode(pixelX: box[2 * corner] + 0.5, pixelY: box[2 * corner + 1] + 0.5,
                                             imageHeight: inputImageSize, imageWidth: inputImageSize, into: row)
                    for c in 0..<embedDim { row[c] += pointEmbeddings[2 + corner][c] }
                }
            }
        }
        return out
    }

    /// Dense embeddings `[h*w][C]`: the downscaled mask input, or the
    /// `no_mask_embed` vector broadcast over the grid.
    func denseEmbeddings(mask: [Float]?) -> DenseEmbedding {
        guard let mask else { return .broadcast(noMaskEmbedding) }
        precondition(mask.count == maskInputSize * maskInputSize, "internal: mask input size checked by the caller")
        let s = maskInputSize
        var x = downscale1(mask, height: s, width: s)            // 1 channel: CHW == HWC
        downscaleNorm1.applyInPlace(&x)
        Activations.geluInPlace(&x)
        x = downscale2(x, height: s / 2, width: s / 2)
        downscaleNorm2.applyInPlace(&x)
        Activations.geluInPlace(&x)
        return .grid(downscale3(x, height: s / 4, width: s / 4))
    }
}
