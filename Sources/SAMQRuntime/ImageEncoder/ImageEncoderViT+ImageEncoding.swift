/// The ViT encoder already has every member the protocol asks for.
extension ImageEncoderViT: ImageEncoding {}
