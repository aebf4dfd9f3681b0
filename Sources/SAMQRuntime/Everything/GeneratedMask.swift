/// One mask of the automatic generator: the official annotation record
/// (`segmentation`, `area`, `bbox`, `predicted_iou`, `point_coords`,
/// `stability_score`, `crop_box`) with the mask held as an RLE.
public struct GeneratedMask: Equatable, Sendable {
    /// The mask over the whole image (column-major RLE).
    public var segmentation: MaskRLE
    /// The box around the mask in image pixels (inclusive max corners).
    public var box: MaskBox
    public var predictedIoU: Float
    public var stabilityScore: Float
    /// The prompt point in image pixels.
    public var point: GridPoint
    /// The crop the mask was predicted in.
    public var cropBox: CropBox

    /// Pixels in the mask (`area_from_rle`).
    public var area: Int { segmentation.area }
    /// `bbox` as `[x, y, w, h]`.
    public var bbox: [Int] { box.xywh }
    /// The `binary_mask` output mode: a row-major `height × width` bitmap.
    public func binaryMask() -> [Bool] { segmentation.decode() }
    /// The `coco_rle` output mode: `{size: [h, w], counts: STRING}`.
    public var cocoCounts: String { segmentation.cocoString }
}
