import SAMQFormat

/// TinyViT (MobileSAM) detection, on BatchNorm-folded names (see `BatchNormFolding`).
///
/// Visible in the shapes: stage widths and depths, heads (rows of
/// `attention_biases`), windows (its columns are window²), MLP and MBConv
/// ratios, the neck and the decoder. Not visible: the image size (TinyViT has
/// no position table; 1024, the only official value, unless overridden) and the
/// unused heads/window of the attention-free stage 0 (the official 2 and 7).
/// Merge strides follow the rule the official `TinyViT.__init__` assumes: every
/// PatchMerging halves the side except the one into the last stage.
extension ConfigDetector {
    static func isTinyViT(_ shapes: [String: [Int]]) -> Bool {
        shapes["image_encoder.patch_embed.seq.0.weight"] != nil
    }

    static func detectTinyViT(shapes: [String: [Int]], decoderHeads: Int, imageSize: Int) throws -> ModelConfig {
        func shape(_ name: String, rank: Int) throws -> [Int] {
            guard let s = shapes[name] else { throw ConverterError.missingTensor(name) }
            guard s.count == rank, s.allSatisfy({ $0 > 0 }) else {
                throw ConverterError.cannotDetect("'\(name)' has shape \(s), expected rank \(rank)")
            }
            return s
        }
        func count(_ prefix: String, _ suffix: String) -> Int {
            var n = 0
            while shapes.keys.contains(where: { $0.hasPrefix(prefix + "\(n)" + suffix) }) { n += 1 }
            return n
        }
        let stages = count("image_encoder.layers.", ".")
        guard stages >= 2 else { throw ConverterError.cannotDetect("TinyViT checkpoint with \(stages) stage(s)") }
        var dims: [Int] = [], depths: [Int] = [], heads: [Int] = [], windows: [Int] = []
        var mlpRatio = 4.0, expand = 4.0, localConv = 3
        for s in 0..<stages {
            let p = "image_encoder.layers.\(s).blocks."
            let depth = count(p, ".")
            guard depth > 0 else { throw ConverterError.cannotDetect("TinyViT stage \(s) has no blocks") }
            depths.append(depth)
            if s == 0 {
                let conv1 = try shape(p + "0.conv1.weight", rank: 4)
                dims.append(conv1[1])
                expand = Double(conv1[0]) / Double(conv1[1])
                heads.append(2); windows.append(7)
            } else {
                let dim = try shape(p + "0.attn.norm.weight", rank: 1)[0]
                let bias = try shape(p + "0.attn.attention_biases", rank: 2)
                let window = Int(Double(bias[1]).squareRoot().rounded())
                guard window * window == bias[1] else {
                    throw ConverterError.cannotDetect("stage \(s): \(bias[1]) attention offsets is not a square window")
                }
                dims.append(dim); heads.append(bias[0]); windows.append(window)
                mlpRatio = Double(try shape(p + "0.mlp.fc1.weight", rank: 2)[0]) / Double(dim)
                localConv = try shape(p + "0.local_conv.weight", rank: 4)[2]
            }
        }
        let tiny = ModelConfig.TinyViT(embedDims: dims, depths: depths, numHeads: heads, windowSizes: windows,
                                       mergeStrides: Array(repeating: 2, count: stages - 2) + [1])
        var t = tiny
        t.mlpRatio = mlpRatio; t.mbconvExpandRatio = expand; t.localConvSize = localConv
        let outChans = try shape("image_encoder.neck.0.weight", rank: 4)[0]
        let maskChans = try shape("prompt_encoder.mask_downscaling.3.weight", rank: 4)[0]
        let decoderMlp = try shape("mask_decoder.transformer.layers.0.mlp.lin1.weight", rank: 2)[0]
        let iouHidden = try shape("mask_decoder.iou_prediction_head.layers.0.weight", rank: 2)[0]
        var config = ModelConfig.tinyViTConfig(variant: "custom", imgSize: imageSize, tiny: t, outChans: outChans,
                                               maskInChans: maskChans, decoderMlpDim: decoderMlp,
                                               iouHeadHiddenDim: iouHidden)
        // The decoder is SAM's: reuse the ViT detector's decoder fields.
        config.maskDecoder = try detectDecoder(shapes: shapes, decoderHeads: decoderHeads)
        if config == .mobileSAM.renamed("custom") { config.variant = "vit_t" }
        do { try SAMSchema.validate(config) } catch { throw ConverterError.cannotDetect("\(error)") }
        return config
    }
}

extension ModelConfig {
    func renamed(_ variant: String) -> ModelConfig {
        var copy = self
        copy.variant = variant
        return copy
    }
}
