/// Everything needed to rebuild a SAM model's graph, stored in every `.samq`.
///
/// Field names follow `segment_anything.build_sam` so a config can be read side
/// by side with the official code. All sizes come from here: vit_b/l/h and tiny
/// test models run through the same runtime code.
public struct ModelConfig: Codable, Equatable, Sendable {
    public struct ImageEncoder: Codable, Equatable, Sendable {
        public var kind: String = "vit"
        public var imgSize: Int
        public var patchSize: Int
        public var inChans: Int = 3
        public var embedDim: Int
        public var depth: Int
        public var numHeads: Int
        public var mlpDim: Int
        public var outChans: Int
        public var qkvBias: Bool = true
        public var useRelPos: Bool = true
        public var windowSize: Int
        public var globalAttnIndexes: [Int]
        /// Rel-pos table lengths per block when they differ from `2*size-1`
        /// (a checkpoint trained at another resolution); the runtime interpolates.
        public var relPosLengths: [Int]? = nil
        /// Set when `kind == "tiny_vit"` (MobileSAM). Absent in ViT files, so
        /// files written before TinyViT support decode unchanged. For TinyViT the
        /// flat fields above describe the encoder's output side: `patchSize` is
        /// the total stride (16), `embedDim`/`numHeads` those of the last stage,
        /// `depth` the number of blocks, `windowSize` 0 and no global blocks.
        public var tinyViT: TinyViT? = nil

        public init(imgSize: Int, patchSize: Int, embedDim: Int, depth: Int, numHeads: Int, mlpDim: Int,
                    outChans: Int, windowSize: Int, globalAttnIndexes: [Int]) {
            self.imgSize = imgSize; self.patchSize = patchSize; self.embedDim = embedDim; self.depth = depth
            self.numHeads = numHeads; self.mlpDim = mlpDim; self.outChans = outChans
            self.windowSize = windowSize; self.globalAttnIndexes = globalAttnIndexes
        }

        /// Side of the patch grid, `imgSize / patchSize`.
        public var gridSize: Int { imgSize / patchSize }
        public var headDim: Int { embedDim / numHeads }
    }

    /// MobileSAM's TinyViT image encoder (`mobile_sam.modeling.TinyViT`), with
    /// BatchNorm already folded into the convolutions by the converter.
    public struct TinyViT: Codable, Equatable, Sendable {
        /// Channels of each stage (stage 0 is the MBConv stage).
        public var embedDims: [Int]
        /// Blocks per stage.
        public var depths: [Int]
        /// Attention heads per stage; entry 0 is unused (stage 0 has no attention).
        public var numHeads: [Int]
        /// Attention window per stage; entry 0 is unused.
        public var windowSizes: [Int]
        public var mlpRatio: Double = 4
        public var mbconvExpandRatio: Double = 4
        public var localConvSize: Int = 3
        /// Stride of each PatchMerging (one per stage but the last). The official
        /// TinyViT keeps the last stage at the previous resolution, so it is
        /// `[2, 2, 1]` for vit_t: 1024 → 256 (stem) → 128 → 64 → 64.
        public var mergeStrides: [Int]

        public init(embedDims: [Int], depths: [Int], numHeads: [Int], windowSizes: [Int], mergeStrides: [Int]) {
            self.embedDims = embedDims; self.depths = depths; self.numHeads = numHeads
            self.windowSizes = windowSizes; self.mergeStrides = mergeStrides
        }

        public var stageCount: Int { embedDims.count }
        /// The conv stem divides the image side by 4.
        public static let stemStride = 4
        /// Hidden width of stage 0's MBConv blocks.
        public var mbconvHidden: Int { Int(Double(embedDims[0]) * mbconvExpandRatio) }
        public func mlpHidden(stage: Int) -> Int { Int(Double(embedDims[stage]) * mlpRatio) }
        /// Feature-map side of each stage for an `imgSize` input.
        public func resolutions(imgSize: Int) -> [Int] {
            var side = (imgSize + 1) / 2
            side = (side + 1) / 2
            var out = [side]
            for stride in mergeStrides { side = (side - 1) / stride + 1; out.append(side) }
            return out
        }
        /// Product of the stem and merge strides (16 for vit_t).
        public var totalStride: Int { mergeStrides.reduce(Self.stemStride, *) }
    }

    public struct PromptEncoder: Codable, Equatable, Sendable {
        public var embedDim: Int
        public var maskInChans: Int
        public init(embedDim: Int, maskInChans: Int) { self.embedDim = embedDim; self.maskInChans = maskInChans }
    }

    public struct MaskDecoder: Codable, Equatable, Sendable {
        public var transformerDim: Int
        public var transformerDepth: Int = 2
        public var transformerMlpDim: Int
        /// Not recoverable from tensor shapes; every official model uses 8.
        public var numHeads: Int = 8
        public var attentionDownsampleRate: Int = 2
        public var numMultimaskOutputs: Int = 3
        public var iouHeadDepth: Int = 3
        public var iouHeadHiddenDim: Int
        public init(transformerDim: Int, transformerMlpDim: Int, iouHeadHiddenDim: Int) {
            self.transformerDim = transformerDim; self.transformerMlpDim = transformerMlpDim
            self.iouHeadHiddenDim = iouHeadHiddenDim
        }
    }

    /// A name for humans: `vit_b`, `vit_l`, `vit_h` or `custom`.
    public var variant: String
    public var imageEncoder: ImageEncoder
    public var promptEncoder: PromptEncoder
    public var maskDecoder: MaskDecoder
    public var pixelMean: [Float] = [123.675, 116.28, 103.53]
    public var pixelStd: [Float] = [58.395, 57.12, 57.375]
    public var maskThreshold: Float = 0

    public init(variant: String, imageEncoder: ImageEncoder, promptEncoder: PromptEncoder, maskDecoder: MaskDecoder) {
        self.variant = variant; self.imageEncoder = imageEncoder
        self.promptEncoder = promptEncoder; self.maskDecoder = maskDecoder
    }

    /// Side of the image embedding (64 for the official models).
    public var embeddingSize: Int { imageEncoder.gridSize }
    /// Side of the low-resolution mask logits (256 for the official models).
    public var lowResMaskSize: Int { 4 * embeddingSize }
}

extension ModelConfig {
    /// The official configurations, as `segment_anything.build_sam` builds them.
    public static func official(_ name: String) -> ModelConfig? {
        let (dim, depth, heads, global): (Int, Int, Int, [Int])
        switch name {
        case "vit_b": (dim, depth, heads, global) = (768, 12, 12, [2, 5, 8, 11])
        case "vit_l": (dim, depth, heads, global) = (1024, 24, 16, [5, 11, 17, 23])
        case "vit_h": (dim, depth, heads, global) = (1280, 32, 16, [7, 15, 23, 31])
        case "vit_t": return .mobileSAM
        default: return nil
        }
        return ModelConfig(
            variant: name,
            imageEncoder: .init(imgSize: 1024, patchSize: 16, embedDim: dim, depth: depth, numHeads: heads,
                                mlpDim: 4 * dim, outChans: 256, windowSize: 14, globalAttnIndexes: global),
            promptEncoder: .init(embedDim: 256, maskInChans: 16),
            maskDecoder: .init(transformerDim: 256, transformerMlpDim: 2048, iouHeadHiddenDim: 256))
    }
}

extension ModelConfig {
    /// MobileSAM, as `mobile_sam.build_sam.build_sam_vit_t` builds it.
    public static var mobileSAM: ModelConfig {
        let tiny = TinyViT(embedDims: [64, 128, 160, 320], depths: [2, 2, 6, 2], numHeads: [2, 4, 5, 10],
                           windowSizes: [7, 7, 14, 7], mergeStrides: [2, 2, 1])
        return tinyViTConfig(variant: "vit_t", imgSize: 1024, tiny: tiny, outChans: 256, maskInChans: 16,
                             decoderMlpDim: 2048, iouHeadHiddenDim: 256)
    }

    /// A TinyViT config with the flat encoder fields derived from `tiny`.
    public static func tinyViTConfig(variant: String, imgSize: Int, tiny: TinyViT, outChans: Int, maskInChans: Int,
                                     decoderMlpDim: Int, iouHeadHiddenDim: Int) -> ModelConfig {
        let last = tiny.stageCount - 1
        var encoder = ImageEncoder(imgSize: imgSize, patchSize: tiny.totalStride, embedDim: tiny.embedDims[last],
                                   depth: tiny.depths.reduce(0, +), numHeads: tiny.numHeads[last],
                                   mlpDim: tiny.mlpHidden(stage: last), outChans: outChans, windowSize: 0,
                                   globalAttnIndexes: [])
        encoder.kind = "tiny_vit"
        encoder.useRelPos = false
        encoder.tinyViT = tiny
        return ModelConfig(variant: variant, imageEncoder: encoder,
                           promptEncoder: .init(embedDim: outChans, maskInChans: maskInChans),
                           maskDecoder: .init(transformerDim: outChans, transformerMlpDim: decoderMlpDim,
                                              iouHeadHiddenDim: iouHeadHiddenDim))
    }
}
