/// A crop of the image in pixels, `[x0, x1) × [y0, y1)`, and the crop layer
/// it belongs to (0 is the whole image).
public struct CropBox: Equatable, Hashable, Sendable {
    public var x0: Int
    public var y0: Int
    public var x1: Int
    public var y1: Int
    public var layer: Int

    public init(x0: Int, y0: Int, x1: Int, y1: Int, layer: Int) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
        self.layer = layer
    }

    public var width: Int { x1 - x0 }
    public var height: Int { y1 - y0 }
    public var area: Int { width * height }

    /// `[x, y, w, h]`, as the official `crop_box` output field.
    public var xywh: [Int] { [x0, y0, width, height] }

    /// `generate_crop_boxes`: the whole image, then for layer `i` (1-based) a
    /// `2^i × 2^i` grid of overlapping crops, x-major as `itertools.product`.
    public static func generate(width imageWidth: Int, height imageHeight: Int, layers: Int,
                                overlapRatio: Double) -> [CropBox] {
        var boxes = [CropBox(x0: 0, y0: 0, x1: imageWidth, y1: imageHeight, layer: 0)]
        let shortSide = min(imageWidth, imageHeight)
        guard layers > 0 else { return boxes }
        for layerIndex in 0..<layers {
            let perSide = 1 << (layerIndex + 1)
            // int(overlap_ratio * short_side * (2 / n)): float64 product, truncated.
            let overlap = Int(overlapRatio * Double(shortSide) * (2.0 / Double(perSide)))
            let cropWidth = cropLength(imageWidth, crops: perSide, overlap: overlap)
            let cropHeight = cropLength(imageHeight, crops: perSide, overlap: overlap)
            let xs = (0..<perSide).map { (cropWidth - overlap) * $0 }
            let ys = (0..<perSide).map { (cropHeight - overlap) * $0 }
            for x0 in xs {
                for y0 in ys {
                    boxes.append(CropBox(x0: x0, y0: y0, x1: min(x0 + cropWidth, imageWidth),
                                         y1: min(y0 + cropHeight, imageHeight), layer: layerIndex + 1))
                }
            }
        }
        return boxes
    }

    /// `int(ceil((overlap * (n - 1) + length) / n))`.
    static func cropLength(_ length: Int, crops: Int, overlap: Int) -> Int {
        Int((Double(overlap * (crops - 1) + length) / Double(crops)).rounded(.up))
    }
}
