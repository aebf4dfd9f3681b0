/// `segment_anything.utils.transforms.ResizeLongestSide`, exactly.
public struct ResizeLongestSide: Sendable {
    /// The length of the longer side after resizing (1024 for SAM).
    public let targetLength: Int

    public init(targetLength: Int = 1024) {
        self.targetLength = targetLength
    }

    /// `get_preprocess_shape`: scale = long / max(h, w) in double; each side is
    /// `int(side * scale + 0.5)`.
    public static func preprocessShape(height: Int, width: Int, longSide: Int) -> ImageSize {
        let scale = Double(longSide) * 1.0 / Double(max(height, width))
        let newHeight = Int(Double(height) * scale + 0.5)
        let newWidth = Int(Double(width) * scale + 0.5)
        return ImageSize(width: newWidth, height: newHeight)
    }

    /// The resized size for an image of `originalSize`.
    public func resizedSize(for originalSize: ImageSize) -> ImageSize {
        Self.preprocessShape(height: originalSize.height, width: originalSize.width, longSide: targetLength)
    }

    /// The resized size, or `ImageError.tooElongated` when the short side
    /// would round to 0 pixels (the reference fails on such an image too, with
    /// a less helpful message).
    public func checkedResizedSize(for originalSize: ImageSize) throws -> ImageSize {
        guard targetLength > 0 else { throw ImageError.invalidArgument("target length must be positive, got \(targetLength)") }
        guard originalSize.width > 0, originalSize.height > 0 else {
            throw ImageError.invalidDimensions(width: originalSize.width, height: originalSize.height)
        }
        let size = resizedSize(for: originalSize)
        guard size.width < 1 || size.height < 1 else { return size }
        let long = max(originalSize.width, originalSize.height)
        // The smallest short side that still rounds to one pixel; the first guess is within one of it.
        var shortest = max(1, Int((Double(long) / Double(2 * targetLength)).rounded(.up)) - 1)
        while Self.preprocessShape(height: shortest, width: long, longSide: targetLength).height < 1 { shortest += 1 }
        throw ImageError.tooElongated(width: originalSize.width, height: originalSize.height, targetLength: targetLength,
                                      minimumShortSide: shortest)
    }

    /// `apply_image`: torchvision `resize(to_pil_image(img), (newh, neww))`, i.e.
    /// Pillow's bilinear resampler with antialiasing; bit-exact.
    public func apply(to image: RGBImage) throws -> RGBImage {
        let size = try checkedResizedSize(for: image.size)
        return try image.resizedBilinear(width: size.width, height: size.height)
    }

    /// `apply_coords`: x * (newW / oldW), y * (newH / oldH) in double (NumPy
    /// float64), then rounded to Float as `SamPredictor` does with `torch.float`.
    public func applyCoords(_ points: [(x: Double, y: Double)], originalSize: ImageSize) -> [(x: Float, y: Float)] {
        let new = resizedSize(for: originalSize)
        let sx = Double(new.width) / Double(originalSize.width)
        let sy = Double(new.height) / Double(originalSize.height)
        return points.map { (x: Float($0.x * sx), y: Float($0.y * sy)) }
    }

    /// `apply_boxes`: both corners of each (x0, y0, x1, y1) box through `applyCoords`.
    public func applyBoxes(_ boxes: [(x0: Double, y0: Double, x1: Double, y1: Double)],
                           originalSize: ImageSize) -> [(x0: Float, y0: Float, x1: Float, y1: Float)] {
        let corners = boxes.flatMap { [(x: $0.x0, y: $0.y0), (x: $0.x1, y: $0.y1)] }
        let mapped = applyCoords(corners, originalSize: originalSize)
        return stride(from: 0, to: mapped.count, by: 2).map {
            (x0: mapped[$0].x, y0: mapped[$0].y, x1: mapped[$0 + 1].x, y1: mapped[$0 + 1].y)
        }
    }
}
