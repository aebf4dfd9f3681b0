import SAMQFormat

/// Recovers a `ModelConfig` from tensor shapes alone, the way a user's
/// checkpoint arrives: no config file, just a state dict.
///
/// Everything but the decoder's head count is visible in the shapes; that one
/// is 8 in every official model and can be overridden.
public enum ConfigDetector {
    /// `imageSize` is only used for TinyViT, whose shapes do not reveal it.
    public static func detect(shapes: [String: [Int]], decoderHeads: Int = 8, imageSize: Int = 1024) throws -> ModelConfig {
        if isTinyViT(shapes) { return try detectTinyViT(shapes: shapes, decoderHeads: decoderHeads, imageSize: imageSize) }
        func shape(_ name: String, rank: Int) throws -> [Int] {
            guard let s = shapes[name] else { throw ConverterError.missingTensor(name) }
            guard s.count == rank, s.allSatisfy({ $0 > 0 }) else {
                throw ConverterError.cannotDetect("'\(name)' has shape \(s), expected rank \(rank)")
            }
            return s
        }
        func count(_ prefix: String, _ suffix: String) -> Int {
            var n = 0
            while shapes[prefix + "\(n)" + suffix] != nil { n += 1 }
            return n
        }

        let patch = try shape("image_encoder.patch_embed.proj.weight", rank: 4)
        let (dim, inChans, patchSize) = (patch[0], patch[1], patch[2])
        guard patch[3] == patchSize else { throw ConverterError.cannotDetect("non-square patch \(patch)") }
        let pos = try shape("image_encoder.pos_embed", rank: 4)
        guard pos[1] == pos[2], pos[3] == dim else { throw ConverterError.cannotDetect("pos_embed shape \(pos)") }
        let grid = pos[1]
        let depth = count("image_encoder.blocks.", ".norm1.weight")
        guard depth > 0 else { throw ConverterError.cannotDetect("no image encoder blocks found") }
        let relPos = try shape("image_encoder.blocks.0.attn.rel_pos_h", rank: 2)
        let headDim = relPos[1]
        guard dim % headDim == 0 else { throw ConverterError.cannotDetect("head dim \(headDim) does not divide \(dim)") }
        let mlp = try shape("image_encoder.blocks.0.mlp.lin1.weight", rank: 2)[0]
        let outChans = try shape("image_encoder.neck.0.weight", rank: 4)[0]

        // Global blocks have tables of 2·grid−1; windowed ones 2·window−1.
        let lengths = try (0..<depth).map { try shape("image_encoder.blocks.\($0).attn.rel_pos_h", rank: 2)[0] }
        let globalLength = 2 * grid - 1
        let global = lengths.indices.filter { lengths[$0] == globalLength }
        let windowedLengths = Set(lengths.filter { $0 != globalLength })
        var windowSize = 0
        var relPosLengths: [Int]? = nil
        if windowedLengths.count == 1, let length = windowedLengths.first, length % 2 == 1 {
            windowSize = (length + 1) / 2
        } else if !windowedLengths.isEmpty {
            // Tables of unexpected lengths: keep them, the runtime interpolates.
            // Without another hint, treat such blocks as 14-wide windows (the official value).
            windowSize = min(14, grid)
            relPosLengths = lengths
        }

        var encoder = ModelConfig.ImageEncoder(imgSize: grid * patchSize, patchSize: patchSize, embedDim: dim, depth: depth,
                                               numHeads: dim / headDim, mlpDim: mlp, outChans: outChans,
                                               windowSize: windowSize, globalAttnIndexes: global)
        encoder.inChans = inChans
        encoder.qkvBias = shapes["image_encoder.blocks.0.attn.qkv.bias"] != nil
        encoder.relPosLengths = relPosLengths

        let promptDim = try shape("prompt_encoder.no_mask_embed.weight", rank: 2)[1]
        let maskChans = try shape("prompt_encoder.mask_downscaling.3.weight", rank: 4)[0]
        let decoder = try detectDecoder(shapes: shapes, decoderHeads: decoderHeads)

        var config = ModelConfig(variant: "custom", imageEncoder: encoder,
                                 promptEncoder: .init(embedDim: promptDim, maskInChans: maskChans), maskDecoder: decoder)
        config.variant = officialName(matching: config) ?? "custom"
        do { try SAMSchema.validate(config) } catch { throw ConverterError.cannotDetect("\(error)") }
        return config
    }

    /// The mask decoder's config (shared by ViT and TinyViT models).
    static func detectDecoder(shapes: [String: [Int]], decoderHeads: Int) throws -> ModelConfig.MaskDecoder {
        func shape(_ name: String, rank: Int) throws -> [Int] {
            guard let s = shapes[name] else { throw ConverterError.missingTensor(name) }
            guard s.count == rank, s.allSatisfy({ $0 > 0 }) else {
                throw ConverterError.cannotDetect("'\(name)' has shape \(s), expected rank \(rank)")
            }
            return s
        }
        func count(_ prefix: String, _ suffix: String) -> Int {
            var n = 0
            while shapes[prefix + "\(n)" + suffix] != nil { n += 1 }
            return n
        }
        let decoderDim = try shape("mask_decoder.iou_token.weight", rank: 2)[1]
        let decoderDepth = count("mask_decoder.transformer.layers.", ".norm1.weight")
        let decoderMlp = try shape("mask_decoder.transformer.layers.0.mlp.lin1.weight", rank: 2)[0]
        let crossWidth = try shape("mask_decoder.transformer.final_attn_token_to_image.q_proj.weight", rank: 2)[0]
        let maskTokens = try shape("mask_decoder.mask_tokens.weight", rank: 2)[0]
        let iouDepth = count("mask_decoder.iou_prediction_head.layers.", ".weight")
        let iouHidden = try shape("mask_decoder.iou_prediction_head.layers.0.weight", rank: 2)[0]
        guard crossWidth > 0, decoderDim % crossWidth == 0, maskTokens >= 2, iouDepth >= 1 else {
            throw ConverterError.cannotDetect("mask decoder shapes are inconsistent")
        }
        // The head count is not in the checkpoint; a wrong one must fail here, naming the
        // option, not later as a metadata check on the file being written.
        guard decoderHeads > 0, decoderDim % decoderHeads == 0, crossWidth % decoderHeads == 0 else {
            throw ConverterError.badOption("--decoder-heads \(decoderHeads) does not divide the mask decoder's "
                                           + "attention widths (\(decoderDim) and \(crossWidth)); official SAM "
                                           + "and MobileSAM use 8")
        }
        var decoder = ModelConfig.MaskDecoder(transformerDim: decoderDim, transformerMlpDim: decoderMlp,
                                              iouHeadHiddenDim: iouDepth > 1 ? iouHidden : decoderDim)
        decoder.transformerDepth = decoderDepth
        decoder.numHeads = decoderHeads
        decoder.attentionDownsampleRate = decoderDim / crossWidth
        decoder.numMultimaskOutputs = maskTokens - 1
        decoder.iouHeadDepth = iouDepth
        return decoder
    }

    static func officialName(matching config: ModelConfig) -> String? {
        ["vit_b", "vit_l", "vit_h"].first { name in
            var candidate = config
            candidate.variant = name
            return ModelConfig.official(name) == candidate
        }
    }

    /// Checks every tensor of the config's schema against the source:
    /// missing, misshapen and extra tensors are errors that name them.
    public static func check(shapes: [String: [Int]], against schema: SAMSchema) throws {
        for tensor in schema.tensors {
            guard let found = shapes[tensor.name] else { throw ConverterError.missingTensor(tensor.name) }
            guard found == tensor.shape else {
                throw ConverterError.shapeMismatch(name: tensor.name, expected: tensor.shape, found: found)
            }
        }
        let known = Set(schema.tensors.map(\.name))
        let extra = shapes.keys.filter { !known.contains($0) }.sorted()
        guard extra.isEmpty else { throw ConverterError.unexpectedTensors(extra) }
    }
}
