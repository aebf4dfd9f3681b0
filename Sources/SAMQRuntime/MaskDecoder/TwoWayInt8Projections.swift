/// The token→image value projections that the int8 decoder runs over all
/// image rows on the int8 kernels (streamed token→image attention,
/// `DecoderAttention+Streamed`) instead of folding them into an f32 `P·keys`.
///
/// The files store these matrices f32 for the folded f32 products; they are
/// quantized here at load, per output channel like every int8 weight:
/// 256×128 bytes each for vit_b.
struct TwoWayInt8Projections {
    /// token→image `v_proj` of layers 1… and of the final attention (index
    /// `layers.count`); nil for layer 0, whose values are cached per image.
    let tokenToImageValue: [QuantizedLinear?]

    init(transformer: TwoWayTransformer, context: Int8Context) throws {
        func quantized(_ linear: Linear, _ name: String) throws -> QuantizedLinear {
            let matrix = try PackedInt8Matrix(quantizing: linear.weight, n: linear.outFeatures,
                                              k: linear.inFeatures, name: name)
            return try QuantizedLinear(weight: matrix, bias: linear.bias, context: context)
        }
        let prefix = "mask_decoder.transformer"
        var values: [QuantizedLinear?] = [nil]
        for i in 1..<max(1, transformer.layers.count) {
            values.append(try quantized(transformer.layers[i].crossTokenToImage.vProj,
                                        "\(prefix).layers.\(i).cross_attn_token_to_image.v_proj.weight"))
        }
        values.append(try quantized(transformer.finalAttention.vProj,
                                    prefix + ".final_attn_token_to_image.v_proj.weight"))
        tokenToImageValue = values
    }
}
