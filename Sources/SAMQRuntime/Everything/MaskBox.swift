/// The box around a mask, XYXY with *inclusive* max corners (the last column
/// and row that hold a pixel), exactly like `batched_mask_to_box`. An empty mask
/// gets `[0, 0, 0, 0]`.
public struct MaskBox: Equatable, Hashable, Sendable {
    public var x0: Int
    public var y0: Int
    public var x1: Int
    public var y1: Int

    public init(x0: Int, y0: Int, x1: Int, y1: Int) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }

    public static let empty = MaskBox(x0: 0, y0: 0, x1: 0, y1: 0)

    /// `[x, y, w, h]` as `box_xyxy_to_xywh`: `w = x1 - x0`, so a one-pixel-wide
    /// mask has width 0 (pycocotools' `toBbox` would say 1).
    public var xywh: [Int] { [x0, y0, x1 - x0, y1 - y0] }

    /// The box of a row-major `height × width` bitmap (`mask.count == width * height`).
    init(mask: UnsafeBufferPointer<Bool>, width: Int, height: Int) {
        var minX = width, minY = height, maxX = -1, maxY = -1
        for y in 0..<height {
            let row = y * width
            var first = -1, last = -1
            for x in 0..<width where mask[row + x] {
                if first < 0 { first = x }
                last = x
            }
            guard first >= 0 else { continue }
            if minY == height { minY = y }
            maxY = y
            minX = min(minX, first)
            maxX = max(maxX, last)
        }
        self = maxX < 0 ? .empty : MaskBox(x0: minX, y0: minY, x1: maxX, y1: maxY)
    }

    /// The box moved by a crop's origin (`uncrop_boxes_xyxy`).
    public func offset(by crop: CropBox) -> MaskBox {
        MaskBox(x0: x0 + crop.x0, y0: y0 + crop.y0, x1: x1 + crop.x0, y1: y1 + crop.y0)
    }

    /// `is_box_near_crop_edge` for a box already in image coordinates: within
    /// 20 px of a crop side that is not also an image side. The comparison is
    /// `torch.isclose(atol=20, rtol=0)` on float32, i.e. `|a - b| <= 20`.
    public func isNearCropEdge(_ crop: CropBox, imageWidth: Int, imageHeight: Int, tolerance: Float = 20) -> Bool {
        let box = [x0, y0, x1, y1].map(Float.init)
        let cropSides = [crop.x0, crop.y0, crop.x1, crop.y1].map(Float.init)
        let imageSides = [0, 0, imageWidth, imageHeight].map(Float.init)
        for i in 0..<4 where abs(box[i] - cropSides[i]) <= tolerance && !(abs(box[i] - imageSides[i]) <= tolerance) {
            return true
        }
        return false
    }

    /// Area as torchvision computes it for NMS: `(x1 - x0) * (y1 - y0)` in float32.
    var nmsArea: Float { Float(x1 - x0) * Float(y1 - y0) }
}
