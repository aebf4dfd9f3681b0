/// The TinyViT (MobileSAM) image encoder's tensors as a `.samq` stores them.
///
/// Official checkpoints hold each convolution as `Conv2d_BN`: `X.c.weight`
/// plus `X.bn.{weight,bias,running_mean,running_var}`. The converter folds the
/// BatchNorm into the convolution, so the file (and this schema) has plain
/// `X.weight` / `X.bias` pairs and the runtime has no BatchNorm. The unused
/// classifier (`norm_head`, `head`) is dropped.
extension ModelConfig.ImageEncoder {
    public static let tinyViTKind = "tiny_vit"
    public var isTinyViT: Bool { kind == Self.tinyViTKind }
}

extension SAMSchema {
    static func tinyViTEncoderTensors(_ t: ModelConfig.TinyViT, outChans: Int) -> [Tensor] {
        var list: [Tensor] = []
        func add(_ name: String, _ shape: [Int], _ view: GemmView? = nil) {
            list.append(Tensor(name: name, shape: shape, gemmView: view, block: nil))
        }
        /// A folded Conv2d_BN: weight and bias. Depthwise weights get no GEMM view.
        func conv(_ prefix: String, out: Int, in inputs: Int, kernel: Int, depthwise: Bool = false) {
            add(prefix + ".weight", [out, depthwise ? 1 : inputs, kernel, kernel], depthwise ? nil : .conv)
            add(prefix + ".bias", [out])
        }
        func linear(_ prefix: String, out: Int, in inputs: Int) {
            add(prefix + ".weight", [out, inputs], .linear)
            add(prefix + ".bias", [out])
        }
        func norm(_ prefix: String, _ width: Int) {
            add(prefix + ".weight", [width])
            add(prefix + ".bias", [width])
        }
        let d0 = t.embedDims[0]
        conv("image_encoder.patch_embed.seq.0", out: d0 / 2, in: 3, kernel: 3)
        conv("image_encoder.patch_embed.seq.2", out: d0, in: d0 / 2, kernel: 3)
        for stage in 0..<t.stageCount {
            let dim = t.embedDims[stage]
            let p = "image_encoder.layers.\(stage)"
            for b in 0..<t.depths[stage] {
                let q = p + ".blocks.\(b)"
                if stage == 0 {
                    let hidden = t.mbconvHidden
                    conv(q + ".conv1", out: hidden, in: dim, kernel: 1)
                    conv(q + ".conv2", out: hidden, in: hidden, kernel: 3, depthwise: true)
                    conv(q + ".conv3", out: dim, in: hidden, kernel: 1)
                } else {
                    let heads = t.numHeads[stage], window = t.windowSizes[stage]
                    add(q + ".attn.attention_biases", [heads, window * window])
                    norm(q + ".attn.norm", dim)
                    linear(q + ".attn.qkv", out: 3 * dim, in: dim)
                    linear(q + ".attn.proj", out: dim, in: dim)
                    norm(q + ".mlp.norm", dim)
                    linear(q + ".mlp.fc1", out: t.mlpHidden(stage: stage), in: dim)
                    linear(q + ".mlp.fc2", out: dim, in: t.mlpHidden(stage: stage))
                    conv(q + ".local_conv", out: dim, in: dim, kernel: t.localConvSize, depthwise: true)
                }
            }
            if stage < t.stageCount - 1 {
                let next = t.embedDims[stage + 1]
                conv(p + ".downsample.conv1", out: next, in: dim, kernel: 1)
                conv(p + ".downsample.conv2", out: next, in: next, kernel: 3, depthwise: true)
                conv(p + ".downsample.conv3", out: next, in: next, kernel: 1)
            }
        }
        return list
    }

    static func validateTinyViT(_ config: ModelConfig) throws {
        let e = config.imageEncoder
        func require(_ condition: Bool, _ fault: String) throws {
            if !condition { throw SAMQFormatError.invalidModelConfig("TinyViT \(fault)") }
        }
        guard let t = e.tinyViT else { throw SAMQFormatError.invalidModelConfig("kind tiny_vit without tinyViT fields") }
        let n = t.stageCount
        try require((2...8).contains(n), "needs 2 to 8 stages, not \(n)")
        try require(t.depths.count == n && t.numHeads.count == n && t.windowSizes.count == n && t.mergeStrides.count == n - 1,
                    "per-stage lists must have one entry per stage (merge strides: one fewer)")
        try require(t.embedDims.allSatisfy { (2...8192).contains($0) } && t.embedDims[0] % 2 == 0,
                    "embed dims \(t.embedDims) out of range (stage 0 must be even)")
        try require(t.depths.allSatisfy { (0...64).contains($0) }, "depths \(t.depths) out of range")
        for s in 1..<n where t.depths[s] > 0 {
            try require(t.numHeads[s] >= 1 && t.embedDims[s] % t.numHeads[s] == 0,
                        "stage \(s): \(t.numHeads[s]) heads do not divide \(t.embedDims[s]) channels")
            try require((1...64).contains(t.windowSizes[s]), "stage \(s): window \(t.windowSizes[s]) out of range")
        }
        try require(t.mergeStrides.allSatisfy { $0 == 1 || $0 == 2 }, "merge strides must be 1 or 2")
        try require(t.mlpRatio > 0 && t.mlpRatio <= 16 && t.mbconvExpandRatio > 0 && t.mbconvExpandRatio <= 16,
                    "MLP/MBConv ratios out of range")
        try require(t.localConvSize == 3, "local conv size \(t.localConvSize) (only 3 is supported)")
        try require(e.imgSize % t.totalStride == 0 && e.patchSize == t.totalStride,
                    "image size \(e.imgSize) must be a multiple of the total stride \(t.totalStride) (= patch size)")
        try require(e.embedDim == t.embedDims[n - 1], "embed dim must equal the last stage's")
        try require(t.resolutions(imgSize: e.imgSize).last == e.gridSize, "stage resolutions do not end at the grid size")
    }
}
