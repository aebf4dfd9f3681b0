/// The result of `SamPredictor.predict`, shaped like `SamPredictor.predict`'s
/// `(masks, iou_predictions, low_res_masks)`.
public struct Prediction: Sendable {
    /// Number of masks: 3 (multimask) or 1 for the official models.
    public let maskCount: Int
    /// Original image size `(height, width)`; `masks` is `maskCount × height × width`.
    public let height: Int
    public let width: Int
    /// Binary masks at the original image size, 0 or 1, C order `[mask][y][x]`.
    public let masks: [UInt8]
    /// The model's predicted IoU for each mask.
    public let iouPredictions: [Float]
    /// Side of the low-resolution logits (256 for the official models).
    public let lowResSize: Int
    /// Mask logits before upscaling, `maskCount × lowResSize × lowResSize`; can be fed back as `maskInput`.
    public let lowResLogits: [Float]

    /// One low-res logit plane (`lowResSize²` values), e.g. the best mask to feed back as `maskInput`.
    public func lowResLogits(mask index: Int) -> [Float] {
        let n = lowResSize * lowResSize
        return Array(lowResLogits[(index * n)..<((index + 1) * n)])
    }

    /// One binary mask plane (`height × width` values).
    public func mask(_ index: Int) -> [UInt8] {
        let n = height * width
        return Array(masks[(index * n)..<((index + 1) * n)])
    }
}
