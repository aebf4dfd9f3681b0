import SAMQFormat

/// What the user asked the converter for.
public struct ConversionOptions: Sendable {
    public enum WeightType: String, Sendable, CaseIterable { case int8, f32 }
    public var weights: WeightType = .int8
    public var codec: TensorCodec = .zstd
    public var compressionLevel: Int32 = 3
    /// GEMM weights whose names contain one of these stay f32 in int8 files
    /// (the runtime then runs those layers in f32).
    public var keepFloat32: [String] = []
    public init() {}
}

/// Decides each tensor's stored form.
public enum ConversionPlan {
    /// Linear and Conv weights of the encoder and decoder become packed int8.
    /// The prompt encoder, norms, biases, tokens and rel-pos tables stay f32
    /// (they are small and precision-sensitive); the large absolute position
    /// table is f16 in int8 files.
    /// The prompt encoder, and the decoder's heads that turn tokens into mask
    /// weights and IoU scores, stay f32: together under 1 M parameters (about
    /// 2.5% of a vit_b file), and int8 there moved mask IoU on the golden
    /// fixtures from 0.976 to 0.969 while the int8 transformer costs nothing
    /// measurable (see docs/ACCURACY.md).
    /// TinyViT's first stem conv (3 input channels, k = 27) stays f32 too: 864
    /// weights, where one int8 scale per channel over 27 values costs accuracy
    /// for no measurable time. Its depthwise convs and attention-bias tables
    /// have no GEMM view and stay f32 (see docs/ACCURACY.md).
    public static func keepsFloat32(_ name: String) -> Bool {
        name.hasPrefix("prompt_encoder.") || name.hasPrefix("image_encoder.patch_embed.seq.0.") || name.hasPrefix("mask_decoder.output_hypernetworks_mlps.")
            || name.hasPrefix("mask_decoder.iou_prediction_head.") || name.hasPrefix("mask_decoder.output_upscaling.")
    }

    public static func entries(for schema: SAMSchema, options: ConversionOptions) -> [TensorEntry] {
        schema.tensors.map { tensor in
            var entry = TensorEntry(name: tensor.name, dtype: .f32, layout: .plain, codec: options.codec, shape: tensor.shape)
            guard options.weights == .int8 else { return entry }
            // MobileSAM: the decoder transformer stays f32 too. The decoder computes in
            // f32 on dequantized weights either way, so this costs file size only
            // (vit_t: 11.7 -> 20.7 MB) and moved int8-vs-f32 mask IoU on the vit_t
            // fixture from 0.968 to 0.973 (docs/ACCURACY.md).
            let tinyViTDecoder = schema.config.imageEncoder.isTinyViT && tensor.name.hasPrefix("mask_decoder.")
            if let view = tensor.gemmView, !keepsFloat32(tensor.name), !tinyViTDecoder,
               !options.keepFloat32.contains(where: { tensor.name.contains($0) }) {
                entry.dtype = .i8
                entry.layout = .packedInt8
                entry.gemmView = view
            } else if tensor.name == "image_encoder.pos_embed" {
                entry.dtype = .f16
            }
            return entry
        }
    }
}
