import SAMQFormat

extension ModelConfig {
    /// A SAM (ViT) config small enough for debug-build tests: the encoder as
    /// given, and the same 16-wide, 2-head prompt encoder and decoder every
    /// such test uses (only the encoder shape varies between them).
    static func tinySAM(imgSize: Int, patchSize: Int = 8, embedDim: Int, depth: Int, numHeads: Int = 2,
                        mlpDim: Int, windowSize: Int, globalAttnIndexes: [Int]) -> ModelConfig {
        var config = ModelConfig(
            variant: "custom",
            imageEncoder: .init(imgSize: imgSize, patchSize: patchSize, embedDim: embedDim, depth: depth,
                                numHeads: numHeads, mlpDim: mlpDim, outChans: 16, windowSize: windowSize,
                                globalAttnIndexes: globalAttnIndexes),
            promptEncoder: .init(embedDim: 16, maskInChans: 4),
            maskDecoder: .init(transformerDim: 16, transformerMlpDim: 32, iouHeadHiddenDim: 16))
        config.maskDecoder.numHeads = 2
        return config
    }
}
