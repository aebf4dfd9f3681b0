import SAMQFormat
import SAMQImage

/// What the predictor needs from an image encoder, whichever architecture:
/// SAM's ViT (`ImageEncoderViT`) or MobileSAM's TinyViT (`ImageEncoderTinyViT`).
public protocol ImageEncoding: AnyObject {
    var config: ModelConfig { get }
    /// The arithmetic the encoder runs (f32 reference or W8A8).
    var precision: EncoderPrecision { get }
    /// `[inChans, imgSize, imgSize]`.
    var inputShape: [Int] { get }
    /// `[outChans, grid, grid]`.
    var outputShape: [Int] { get }
    /// Called after each block with `(done, total)`.
    var progress: ((_ completedBlocks: Int, _ totalBlocks: Int) -> Void)? { get set }
    /// Encodes a preprocessed `C × S × S` tensor (C order) into the `C × g × g` embedding.
    func encode(_ input: [Float]) throws -> [Float]
    /// Encodes an image already resized to fit (`ResizeLongestSide`), like
    /// `SamPredictor.set_image`: normalization and padding included. An
    /// encoder may avoid materializing the padded tensor.
    func encode(resizedImage: RGBImage) throws -> [Float]
}

extension ImageEncoding {
    public func encode(resizedImage image: RGBImage) throws -> [Float] {
        let e = config.imageEncoder
        let input = try SAMPreprocessing.normalizeAndPad(image, size: e.imgSize, mean: config.pixelMean,
                                                         std: config.pixelStd)
        return try encode(input)
    }
}

/// Builds the encoder a config names (`imageEncoder.kind`).
public enum ImageEncoderFactory {
    public static func make(weights: WeightProvider,
                            residency: ImageEncoderViT.WeightResidency = .resident) throws -> any ImageEncoding {
        let kind = weights.config.imageEncoder.kind
        switch kind {
        case "vit": return try ImageEncoderViT(weights: weights, residency: residency)
        case ModelConfig.ImageEncoder.tinyViTKind: return try ImageEncoderTinyViT(weights: weights)
        default: throw SAMRuntimeError.invalidConfig("image encoder kind '\(kind)' is not supported")
        }
    }
}
