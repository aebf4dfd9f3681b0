/// Maps Hugging Face `SamModel` tensor names (`facebook/sam-vit-*`) onto the
/// official `segment_anything` names: the inverse of transformers'
/// `convert_sam_to_hf.py` key mapping. Checkpoints already using official
/// names pass through unchanged.
enum SAMNameMapping {
    /// HF names are recognised by prefixes that official checkpoints never use.
    static func isHuggingFace(_ names: [String]) -> Bool {
        names.contains { $0.hasPrefix("vision_encoder.") || $0.hasPrefix("shared_image_embedding.") }
    }

    /// The official name for each input name, or nil for a Hugging Face-only
    /// duplicate that has no counterpart of its own (it is dropped). Throws
    /// naming every HF name with no mapping.
    static func map(_ names: [String], path: String) throws -> [String?] {
        guard isHuggingFace(names) else { return names }
        let present = Set(names)
        var unmapped: [String] = []
        let mapped: [String?] = names.map { name in
            if droppedAliases[name].map(present.contains) == true { return nil }
            guard let official = officialName(forHuggingFace: name) else {
                unmapped.append(name)
                return nil
            }
            return official
        }
        guard unmapped.isEmpty else { throw CheckpointError.unmappedNames(path: path, names: unmapped) }
        return mapped
    }

    /// The official name of one HF name, nil if none.
    static func officialName(forHuggingFace name: String) -> String? {
        for rule in rules {
            if let official = rule.rewrite(name) { return official }
        }
        return nil
    }

    /// HF keeps the prompt encoder's copy of the random-Fourier matrix tied to
    /// `shared_image_embedding`; when both are saved, the tied copy is dropped
    /// (key: dropped name, value: the name that must be present).
    static let droppedAliases: [String: String] = [
        "prompt_encoder.shared_embedding.positional_embedding": "shared_image_embedding.positional_embedding",
    ]

    /// First match wins. SAM's MLP heads always have 3 layers (iou_head_depth 3,
    /// hypernetworks MLP(.., 3)), which HF names proj_in / layers.0 / proj_out.
    static let rules: [NamePattern] = [
        // Image encoder.
        NamePattern("vision_encoder.patch_embed.projection.*", "image_encoder.patch_embed.proj.*"),
        NamePattern("vision_encoder.pos_embed", "image_encoder.pos_embed"),
        NamePattern("vision_encoder.layers.#.layer_norm1.*", "image_encoder.blocks.#.norm1.*"),
        NamePattern("vision_encoder.layers.#.layer_norm2.*", "image_encoder.blocks.#.norm2.*"),
        NamePattern("vision_encoder.layers.#.attn.*", "image_encoder.blocks.#.attn.*"),
        NamePattern("vision_encoder.layers.#.mlp.*", "image_encoder.blocks.#.mlp.*"),
        NamePattern("vision_encoder.neck.conv1.*", "image_encoder.neck.0.*"),
        NamePattern("vision_encoder.neck.layer_norm1.*", "image_encoder.neck.1.*"),
        NamePattern("vision_encoder.neck.conv2.*", "image_encoder.neck.2.*"),
        NamePattern("vision_encoder.neck.layer_norm2.*", "image_encoder.neck.3.*"),
        // Prompt encoder.
        NamePattern("shared_image_embedding.positional_embedding", "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"),
        NamePattern("prompt_encoder.shared_embedding.positional_embedding", "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"),
        NamePattern("prompt_encoder.point_embed.#.*", "prompt_encoder.point_embeddings.#.*"),
        NamePattern("prompt_encoder.not_a_point_embed.*", "prompt_encoder.not_a_point_embed.*"),
        NamePattern("prompt_encoder.no_mask_embed.*", "prompt_encoder.no_mask_embed.*"),
        NamePattern("prompt_encoder.mask_embed.conv1.*", "prompt_encoder.mask_downscaling.0.*"),
        NamePattern("prompt_encoder.mask_embed.layer_norm1.*", "prompt_encoder.mask_downscaling.1.*"),
        NamePattern("prompt_encoder.mask_embed.conv2.*", "prompt_encoder.mask_downscaling.3.*"),
        NamePattern("prompt_encoder.mask_embed.layer_norm2.*", "prompt_encoder.mask_downscaling.4.*"),
        NamePattern("prompt_encoder.mask_embed.conv3.*", "prompt_encoder.mask_downscaling.6.*"),
        // Mask decoder.
        NamePattern("mask_decoder.iou_token.*", "mask_decoder.iou_token.*"),
        NamePattern("mask_decoder.mask_tokens.*", "mask_decoder.mask_tokens.*"),
        NamePattern("mask_decoder.upscale_conv1.*", "mask_decoder.output_upscaling.0.*"),
        NamePattern("mask_decoder.upscale_layer_norm.*", "mask_decoder.output_upscaling.1.*"),
        NamePattern("mask_decoder.upscale_conv2.*", "mask_decoder.output_upscaling.3.*"),
        NamePattern("mask_decoder.transformer.layers.#.self_attn.*", "mask_decoder.transformer.layers.#.self_attn.*"),
        NamePattern("mask_decoder.transformer.layers.#.cross_attn_token_to_image.*",
                    "mask_decoder.transformer.layers.#.cross_attn_token_to_image.*"),
        NamePattern("mask_decoder.transformer.layers.#.cross_attn_image_to_token.*",
                    "mask_decoder.transformer.layers.#.cross_attn_image_to_token.*"),
        NamePattern("mask_decoder.transformer.layers.#.mlp.*", "mask_decoder.transformer.layers.#.mlp.*"),
        NamePattern("mask_decoder.transformer.layers.#.layer_norm1.*", "mask_decoder.transformer.layers.#.norm1.*"),
        NamePattern("mask_decoder.transformer.layers.#.layer_norm2.*", "mask_decoder.transformer.layers.#.norm2.*"),
        NamePattern("mask_decoder.transformer.layers.#.layer_norm3.*", "mask_decoder.transformer.layers.#.norm3.*"),
        NamePattern("mask_decoder.transformer.layers.#.layer_norm4.*", "mask_decoder.transformer.layers.#.norm4.*"),
        NamePattern("mask_decoder.transformer.final_attn_token_to_image.*", "mask_decoder.transformer.final_attn_token_to_image.*"),
        NamePattern("mask_decoder.transformer.layer_norm_final_attn.*", "mask_decoder.transformer.norm_final_attn.*"),
        NamePattern("mask_decoder.output_hypernetworks_mlps.#.proj_in.*", "mask_decoder.output_hypernetworks_mlps.#.layers.0.*"),
        NamePattern("mask_decoder.output_hypernetworks_mlps.#.layers.0.*", "mask_decoder.output_hypernetworks_mlps.#.layers.1.*"),
        NamePattern("mask_decoder.output_hypernetworks_mlps.#.proj_out.*", "mask_decoder.output_hypernetworks_mlps.#.layers.2.*"),
        NamePattern("mask_decoder.iou_prediction_head.proj_in.*", "mask_decoder.iou_prediction_head.layers.0.*"),
        NamePattern("mask_decoder.iou_prediction_head.layers.0.*", "mask_decoder.iou_prediction_head.layers.1.*"),
        NamePattern("mask_decoder.iou_prediction_head.proj_out.*", "mask_decoder.iou_prediction_head.layers.2.*"),
    ]
}
