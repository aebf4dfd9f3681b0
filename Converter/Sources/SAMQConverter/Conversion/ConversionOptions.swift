import SAMQFormat

/// What the user asked the converter for.
public struct ConversionOptions: Sendable {
    public enum WeightType: String, Sendable, CaseIterable { case int8, f32 }
    public var weights: WeightType = .int8
    public var codec: TensorCodec = .zstd
    public var compressionLevel: Int32 = 3
    /// How int8 files store the mask decoder's transformer linears. The decoder
    /// computes with them in f32 (they only meet a few prompt tokens; its
    /// image-sized products use operands derived from them at run time), so
    /// int8 saves file size only, and costs mask accuracy: f16 is the default
    /// (docs/ACCURACY.md).
    public enum DecoderWeights: String, Sendable, CaseIterable { case f16, int8, f32 }
    public var decoderWeights: DecoderWeights = .f16
    /// Where int8 files run the decoder's output upscaling (the two
    /// conv-transposes, about 0.4 GMAC per prompt on vit_b): on the int8
    /// kernels or in f32, for models whose masks need it. `nil` takes the
    /// model's default (`defaultDecoderUpscaling`).
    public enum DecoderUpscaling: String, Sendable, CaseIterable { case int8, f32 }
    public var decoderUpscaling: DecoderUpscaling? = nil
    /// Precision of the ViT encoder's attention products (Q·Kᵀ and P·V) in
    /// int8 files. int8 is the fast default; f32 is the per-model fallback
    /// for checkpoints whose attention int8 hurts (cost and gain measured in
    /// docs/ACCURACY.md). MobileSAM's attention does not read it.
    public enum EncoderAttention: String, Sendable, CaseIterable { case int8, f32 }
    public var encoderAttention: EncoderAttention = .int8

    /// int8 for SAM's ViT models. f32 for MobileSAM: with int8 upscaling its
    /// vit_t fixture's int8-vs-f32 mask IoU fell to 0.970 (below the 0.97
    /// target at the fourth digit); the encoder already eats most of the
    /// budget there (docs/ACCURACY.md).
    public static func defaultDecoderUpscaling(for config: ModelConfig) -> DecoderUpscaling {
        config.imageEncoder.isTinyViT ? .f32 : .int8
    }
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
    /// fixtures from 0.976 to 0.969 (see docs/ACCURACY.md). The output
    /// upscaling is stored f32 too; the runtime quantizes it at load to run
    /// it on the int8 kernels (unless `decoderUpscaling` is f32). The decoder
    /// transformer's linears follow `decoderWeights`.
    /// TinyViT's first stem conv (3 input channels, k = 27) stays f32 too: 864
    /// weights, where one int8 scale per channel over 27 values costs accuracy
    /// for no measurable time. Its depthwise convs and attention-bias tables
    /// have no GEMM view and stay f32 (see docs/ACCURACY.md).
    public static func keepsFloat32(_ name: String) -> Bool {
        name.hasPrefix("prompt_encoder.") || name.hasPrefix("image_encoder.patch_embed.seq.0.") || name.hasPrefix("mask_decoder.output_hypernetworks_mlps.")
            || name.hasPrefix("mask_decoder.iou_prediction_head.") || name.hasPrefix("mask_decoder.output_upscaling.")
    }

    /// The mask decoder's transformer linears, stored as `decoderWeights` says.
    public static func isDecoderTransformerLinear(_ name: String) -> Bool {
        name.hasPrefix("mask_decoder.transformer.")
    }

    public static func entries(for schema: SAMSchema, options: ConversionOptions) -> [TensorEntry] {
        schema.tensors.map { tensor in
            var entry = TensorEntry(name: tensor.name, dtype: .f32, layout: .plain, codec: options.codec, shape: tensor.shape)
            guard options.weights == .int8 else { return entry }
            if tensor.gemmView != nil, isDecoderTransformerLinear(tensor.name) {
                switch options.decoderWeights {
                case .f16: entry.dtype = .f16
                case .f32: break
                case .int8:
                    entry.dtype = .i8
                    entry.layout = .packedInt8
                    entry.gemmView = tensor.gemmView
                }
            } else if let view = tensor.gemmView, !keepsFloat32(tensor.name),
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
