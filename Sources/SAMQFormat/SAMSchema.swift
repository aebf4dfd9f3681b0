/// The tensors a SAM model of a given config must have, with their exact
/// shapes, in the order the runtime consumes them (encoder blocks first, so a
/// streaming reader walks the file front to back).
///
/// One source of truth for the converter (validating checkpoints, generating
/// `--random` weights) and the runtime (validating `.samq` files).
public struct SAMSchema: Sendable {
    public struct Tensor: Equatable, Sendable {
        public let name: String
        public let shape: [Int]
        /// Set for Linear/Conv weights: these are the int8 candidates.
        public let gemmView: GemmView?
        /// Which encoder block the tensor belongs to (nil outside the blocks);
        /// the streaming loader's unit.
        public let block: Int?
    }

    public let config: ModelConfig
    public let tensors: [Tensor]

    public init(config: ModelConfig) {
        self.config = config
        var list: [Tensor] = []
        func add(_ name: String, _ shape: [Int], _ view: GemmView? = nil, block: Int? = nil) {
            list.append(Tensor(name: name, shape: shape, gemmView: view, block: block))
        }
        func linear(_ prefix: String, out: Int, in inputs: Int, bias: Bool = true, block: Int? = nil) {
            add(prefix + ".weight", [out, inputs], .linear, block: block)
            if bias { add(prefix + ".bias", [out], block: block) }
        }
        func norm(_ prefix: String, _ width: Int, block: Int? = nil) {
            add(prefix + ".weight", [width], block: block)
            add(prefix + ".bias", [width], block: block)
        }

        let e = config.imageEncoder
        if let tiny = e.tinyViT, e.kind == ModelConfig.ImageEncoder.tinyViTKind {
            list += SAMSchema.tinyViTEncoderTensors(tiny, outChans: e.outChans)
        } else {
            let grid = e.gridSize
            add("image_encoder.pos_embed", [1, grid, grid, e.embedDim])
            add("image_encoder.patch_embed.proj.weight", [e.embedDim, e.inChans, e.patchSize, e.patchSize], .conv)
            add("image_encoder.patch_embed.proj.bias", [e.embedDim])
            for i in 0..<e.depth {
                let p = "image_encoder.blocks.\(i)"
                norm(p + ".norm1", e.embedDim, block: i)
                if e.useRelPos {
                    let length = SAMSchema.relPosLength(config: e, block: i)
                    add(p + ".attn.rel_pos_h", [length, e.headDim], block: i)
                    add(p + ".attn.rel_pos_w", [length, e.headDim], block: i)
                }
                linear(p + ".attn.qkv", out: 3 * e.embedDim, in: e.embedDim, bias: e.qkvBias, block: i)
                linear(p + ".attn.proj", out: e.embedDim, in: e.embedDim, block: i)
                norm(p + ".norm2", e.embedDim, block: i)
                linear(p + ".mlp.lin1", out: e.mlpDim, in: e.embedDim, block: i)
                linear(p + ".mlp.lin2", out: e.embedDim, in: e.mlpDim, block: i)
            }
        }
        // The same neck for both encoders (TinyViT's input is its last stage).
        add("image_encoder.neck.0.weight", [e.outChans, e.embedDim, 1, 1], .conv)
        norm("image_encoder.neck.1", e.outChans)
        add("image_encoder.neck.2.weight", [e.outChans, e.outChans, 3, 3], .conv)
        norm("image_encoder.neck.3", e.outChans)

        // The prompt encoder is tiny and precision-sensitive: it always stays f32.
        let pe = config.promptEncoder
        let quarter = pe.maskInChans / 4
        add("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", [2, pe.embedDim / 2])
        for i in 0..<4 { add("prompt_encoder.point_embeddings.\(i).weight", [1, pe.embedDim]) }
        add("prompt_encoder.not_a_point_embed.weight", [1, pe.embedDim])
        add("prompt_encoder.mask_downscaling.0.weight", [quarter, 1, 2, 2])
        add("prompt_encoder.mask_downscaling.0.bias", [quarter])
        norm("prompt_encoder.mask_downscaling.1", quarter)
        add("prompt_encoder.mask_downscaling.3.weight", [pe.maskInChans, quarter, 2, 2])
        add("prompt_encoder.mask_downscaling.3.bias", [pe.maskInChans])
        norm("prompt_encoder.mask_downscaling.4", pe.maskInChans)
        add("prompt_encoder.mask_downscaling.6.weight", [pe.embedDim, pe.maskInChans, 1, 1])
        add("prompt_encoder.mask_downscaling.6.bias", [pe.embedDim])
        add("prompt_encoder.no_mask_embed.weight", [1, pe.embedDim])

        let d = config.maskDecoder
        let dim = d.transformerDim
        func attention(_ prefix: String, downsample: Int) {
            let inner = dim / downsample
            linear(prefix + ".q_proj", out: inner, in: dim)
            linear(prefix + ".k_proj", out: inner, in: dim)
            linear(prefix + ".v_proj", out: inner, in: dim)
            linear(prefix + ".out_proj", out: dim, in: inner)
        }
        for l in 0..<d.transformerDepth {
            let p = "mask_decoder.transformer.layers.\(l)"
            attention(p + ".self_attn", downsample: 1)
            norm(p + ".norm1", dim)
            attention(p + ".cross_attn_token_to_image", downsample: d.attentionDownsampleRate)
            norm(p + ".norm2", dim)
            linear(p + ".mlp.lin1", out: d.transformerMlpDim, in: dim)
            linear(p + ".mlp.lin2", out: dim, in: d.transformerMlpDim)
            norm(p + ".norm3", dim)
            norm(p + ".norm4", dim)
            attention(p + ".cross_attn_image_to_token", downsample: d.attentionDownsampleRate)
        }
        attention("mask_decoder.transformer.final_attn_token_to_image", downsample: d.attentionDownsampleRate)
        norm("mask_decoder.transformer.norm_final_attn", dim)
        let maskTokens = d.numMultimaskOutputs + 1
        add("mask_decoder.iou_token.weight", [1, dim])
        add("mask_decoder.mask_tokens.weight", [maskTokens, dim])
        add("mask_decoder.output_upscaling.0.weight", [dim, dim / 4, 2, 2], .convTranspose)
        add("mask_decoder.output_upscaling.0.bias", [dim / 4])
        norm("mask_decoder.output_upscaling.1", dim / 4)
        add("mask_decoder.output_upscaling.3.weight", [dim / 4, dim / 8, 2, 2], .convTranspose)
        add("mask_decoder.output_upscaling.3.bias", [dim / 8])
        for t in 0..<maskTokens {
            let p = "mask_decoder.output_hypernetworks_mlps.\(t).layers"
            linear(p + ".0", out: dim, in: dim)
            linear(p + ".1", out: dim, in: dim)
            linear(p + ".2", out: dim / 8, in: dim)
        }
        for layer in 0..<d.iouHeadDepth {
            let inputs = layer == 0 ? dim : d.iouHeadHiddenDim
            let outputs = layer == d.iouHeadDepth - 1 ? maskTokens : d.iouHeadHiddenDim
            linear("mask_decoder.iou_prediction_head.layers.\(layer)", out: outputs, in: inputs)
        }
        tensors = list
    }

    /// Rel-pos table length of block `i`: `2*size-1`, where size is the
    /// window for windowed blocks and the grid for global ones, unless the
    /// checkpoint carries tables of another length (interpolated at run time).
    public static func relPosLength(config e: ModelConfig.ImageEncoder, block i: Int) -> Int {
        if let lengths = e.relPosLengths, i < lengths.count { return lengths[i] }
        let isGlobal = e.globalAttnIndexes.contains(i) || e.windowSize == 0
        return 2 * (isGlobal ? e.gridSize : e.windowSize) - 1
    }

    /// Checks a config for values no SAM model can have, before any
    /// allocation is sized from it.
    public static func validate(_ config: ModelConfig) throws {
        let e = config.imageEncoder, p = config.promptEncoder, d = config.maskDecoder
        func require(_ condition: Bool, _ fault: String) throws {
            if !condition { throw SAMQFormatError.invalidModelConfig(fault) }
        }
        try require(e.kind == "vit" || e.kind == ModelConfig.ImageEncoder.tinyViTKind,
                    "image encoder kind '\(e.kind)' is not supported")
        if e.kind == ModelConfig.ImageEncoder.tinyViTKind { try validateTinyViT(config) }
        try require((1...8192).contains(e.imgSize) && (1...256).contains(e.patchSize) && e.imgSize % e.patchSize == 0,
                    "image size \(e.imgSize) must be a positive multiple of the patch size \(e.patchSize)")
        try require((1...16).contains(e.inChans), "in_chans \(e.inChans) is out of range")
        try require((1...8192).contains(e.embedDim) && (1...256).contains(e.depth), "embed dim or depth is out of range")
        try require(e.numHeads >= 1 && e.embedDim % e.numHeads == 0, "embed dim \(e.embedDim) is not divisible by \(e.numHeads) heads")
        try require((1...65536).contains(e.mlpDim) && (1...8192).contains(e.outChans), "MLP dim or out chans is out of range")
        try require(e.windowSize >= 0 && e.windowSize <= e.gridSize, "window size \(e.windowSize) is out of range")
        try require(e.globalAttnIndexes.allSatisfy { (0..<e.depth).contains($0) }, "global attention index out of range")
        if let lengths = e.relPosLengths {
            try require(lengths.count == e.depth && lengths.allSatisfy { (1...65535).contains($0) }, "bad rel-pos lengths")
        }
        try require(p.embedDim == d.transformerDim && p.embedDim == e.outChans,
                    "prompt dim \(p.embedDim), decoder dim \(d.transformerDim) and encoder out chans \(e.outChans) must agree")
        try require(p.embedDim >= 2 && p.embedDim % 2 == 0 && p.embedDim <= 8192, "prompt embed dim \(p.embedDim) must be even")
        try require(p.maskInChans >= 4 && p.maskInChans % 4 == 0 && p.maskInChans <= 4096, "mask_in_chans must be a multiple of 4")
        try require(d.transformerDim % 8 == 0, "decoder dim \(d.transformerDim) must be a multiple of 8")
        try require(d.numHeads >= 1 && (d.transformerDim / d.attentionDownsampleRate) % d.numHeads == 0,
                    "decoder heads \(d.numHeads) do not divide the attention width")
        try require(d.attentionDownsampleRate >= 1 && d.transformerDim % d.attentionDownsampleRate == 0, "bad downsample rate")
        try require((1...16).contains(d.transformerDepth) && (1...65536).contains(d.transformerMlpDim), "decoder depth or MLP dim out of range")
        try require((1...16).contains(d.numMultimaskOutputs) && (1...16).contains(d.iouHeadDepth), "decoder head counts out of range")
        try require((1...65536).contains(d.iouHeadHiddenDim), "IoU head width out of range")
        try require(config.pixelMean.count == e.inChans && config.pixelStd.count == e.inChans
                     && config.pixelStd.allSatisfy { $0 > 0 && $0.isFinite } && config.pixelMean.allSatisfy(\.isFinite),
                     "pixel mean/std must have one finite value per channel, std > 0")
    }
}
