import SAMQImage

/// Draws every mask in its own colour, alpha-blended over the image, straight
/// from the RLEs (never one bitmap per mask). Larger masks are drawn first so
/// small ones stay visible on top, like the official notebook's `show_anns`.
public enum MaskOverlay {
    public static func render(on image: RGBImage, masks: [GeneratedMask], alpha: Double = 0.5) throws -> RGBImage {
        var pixels = image.pixels
        let order = masks.indices.sorted { masks[$0].area > masks[$1].area }
        let height = image.height, width = image.width
        for (rank, index) in order.enumerated() {
            let rle = masks[index].segmentation
            guard rle.height == height, rle.width == width else {
                throw EverythingError.invalidRLE("mask \(index) is \(rle.width)×\(rle.height), the image \(width)×\(height)")
            }
            let color = Self.color(rank)
            rle.forEachRun { start, length in
                for i in start..<(start + length) {
                    let p = ((i % height) * width + i / height) * 3
                    for (c, value) in [color.red, color.green, color.blue].enumerated() {
                        pixels[p + c] = UInt8((Double(pixels[p + c]) * (1 - alpha) + Double(value) * alpha).rounded())
                    }
                }
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Distinct, deterministic colours: golden-ratio hue steps at full saturation.
    static func color(_ index: Int) -> RGBColor {
        let hue = (Double(index) * 0.618033988749895).truncatingRemainder(dividingBy: 1)
        let h = hue * 6, f = h - h.rounded(.down)
        let v = 235.0, s = 0.75
        let p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f))
        let (r, g, b): (Double, Double, Double)
        switch Int(h) % 6 {
        case 0: (r, g, b) = (v, t, p)
        case 1: (r, g, b) = (q, v, p)
        case 2: (r, g, b) = (p, v, t)
        case 3: (r, g, b) = (p, q, v)
        case 4: (r, g, b) = (t, p, v)
        default: (r, g, b) = (v, p, q)
        }
        return RGBColor(UInt8(r.rounded()), UInt8(g.rounded()), UInt8(b.rounded()))
    }
}
