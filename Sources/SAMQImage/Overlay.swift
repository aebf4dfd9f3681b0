/// A prompt point in original-image pixels; label 1 is foreground, 0 background (as in SamPredictor).
public struct OverlayPoint: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var label: Int

    public init(x: Double, y: Double, label: Int) {
        self.x = x
        self.y = y
        self.label = label
    }
}

/// A prompt box (x0, y0) - (x1, y1) in original-image pixels.
public struct OverlayBox: Equatable, Sendable {
    public var x0: Double, y0: Double, x1: Double, y1: Double

    public init(x0: Double, y0: Double, x1: Double, y1: Double) {
        self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1
    }
}

/// Draws masks and prompts over an image for people to look at.
public enum Overlay {
    /// Distinct, saturated mask colours, used in turn.
    public static let defaultColors: [RGBColor] = [
        RGBColor(30, 144, 255), RGBColor(255, 99, 71), RGBColor(50, 205, 50),
        RGBColor(255, 215, 0), RGBColor(186, 85, 211), RGBColor(0, 206, 209),
    ]

    /// Blends each mask (row-major, `image.width * image.height` booleans) in its
    /// colour at `alpha`, outlines it in a contrasting colour, then draws boxes
    /// and points (foreground green, background red, both with a white ring).
    /// Line widths and marker sizes grow with the image so they stay readable.
    public static func render(on image: RGBImage, masks: [[Bool]], colors: [RGBColor] = defaultColors,
                              alpha: Double = 0.5, points: [OverlayPoint] = [],
                              boxes: [OverlayBox] = []) throws -> RGBImage {
        let pixelCount = image.width * image.height
        for (i, mask) in masks.enumerated() where mask.count != pixelCount {
            throw ImageError.invalidArgument("mask \(i) has \(mask.count) values; the image has \(pixelCount) pixels")
        }
        guard !colors.isEmpty || masks.isEmpty else { throw ImageError.invalidArgument("no mask colours given") }
        guard alpha.isFinite, alpha >= 0, alpha <= 1 else { throw ImageError.invalidArgument("alpha must be in 0...1, got \(alpha)") }
        var canvas = Canvas(image: image)
        let shortSide = min(image.width, image.height)
        let outline = max(1, shortSide / 400)
        for (i, mask) in masks.enumerated() {
            canvas.blend(mask: mask, color: colors[i % colors.count], alpha: alpha)
        }
        for (i, mask) in masks.enumerated() {
            canvas.outline(mask: mask, color: contrasting(colors[i % colors.count]), thickness: outline)
        }
        let line = max(2, shortSide / 300)
        for box in boxes {
            canvas.rectangle(box, color: RGBColor(255, 255, 255), thickness: line + 2)
            canvas.rectangle(box, color: RGBColor(0, 120, 255), thickness: line)
        }
        let radius = max(3.0, Double(shortSide) * 0.015)
        let ring = max(1.0, radius / 3)
        for point in points {
            let fill = point.label == 1 ? RGBColor(0, 200, 0) : RGBColor(220, 0, 0)
            canvas.disk(x: point.x, y: point.y, radius: radius + ring, color: RGBColor(255, 255, 255))
            canvas.disk(x: point.x, y: point.y, radius: radius, color: fill)
        }
        return canvas.image
    }

    /// Black or white, whichever stands out more against `color`.
    static func contrasting(_ color: RGBColor) -> RGBColor {
        let luma = 0.299 * Double(color.red) + 0.587 * Double(color.green) + 0.114 * Double(color.blue)
        return luma > 150 ? RGBColor(0, 0, 0) : RGBColor(255, 255, 255)
    }
}

/// Drawing primitives with clipping; all coordinates may lie outside the image.
struct Canvas {
    var image: RGBImage

    /// `(1 - alpha)·pixel + alpha·color`, rounded and clamped, per channel.
    /// A channel's result depends only on its 8-bit input, so each channel is
    /// one 256-entry table built with exactly this formula (`blendedValue`):
    /// the same bits as evaluating it per pixel, without three Double
    /// multiplies and a `rounded()` call per channel (~25 ms of a 1024-px
    /// overlay).
    mutating func blend(mask: [Bool], color: RGBColor, alpha: Double) {
        let table = Self.blendTable(color: color, alpha: alpha)
        let count = min(mask.count, image.pixels.count / 3)
        table.withUnsafeBufferPointer { lut in
            mask.withUnsafeBufferPointer { inside in
                image.pixels.withUnsafeMutableBufferPointer { pixels in
                    let t = lut.baseAddress!, p = pixels.baseAddress!
                    for i in 0..<count where inside[i] {
                        let q = p + 3 * i
                        q[0] = t[Int(q[0])]
                        q[1] = t[256 + Int(q[1])]
                        q[2] = t[512 + Int(q[2])]
                    }
                }
            }
        }
    }

    /// The blend result for every 8-bit value of each channel: `[3][256]`
    /// (red, green, blue).
    static func blendTable(color: RGBColor, alpha: Double) -> [UInt8] {
        var table = [UInt8](repeating: 0, count: 3 * 256)
        for (k, channel) in [color.red, color.green, color.blue].enumerated() {
            for value in 0..<256 {
                table[k * 256 + value] = blendedValue(UInt8(value), channel: channel, alpha: alpha)
            }
        }
        return table
    }

    /// One channel of one blended pixel: the overlay's defining formula.
    @inline(__always)
    static func blendedValue(_ value: UInt8, channel: UInt8, alpha: Double) -> UInt8 {
        let v = (1 - alpha) * Double(value) + alpha * Double(channel)
        return UInt8(max(0, min(255, v.rounded())))
    }

    /// Marks mask pixels within `thickness` of a pixel outside the mask.
    ///
    /// Each edge pixel (a mask pixel with a 4-neighbour outside the mask)
    /// paints the mask pixels of its `(2·thickness − 1)²` square at once:
    /// painting changes only the image, never the mask, and every stroke is
    /// the same colour, so the order does not matter and no edge map is kept.
    mutating func outline(mask: [Bool], color: RGBColor, thickness: Int) {
        let w = image.width, h = image.height
        precondition(mask.count == w * h, "internal: mask size checked by render")
        let r = thickness - 1
        mask.withUnsafeBufferPointer { maskBuffer in
            image.pixels.withUnsafeMutableBufferPointer { pixels in
                let m = maskBuffer.baseAddress!, p = pixels.baseAddress!
                for y in 0..<h {
                    let row = m + y * w
                    let above = y > 0 ? row - w : nil, below = y < h - 1 ? row + w : nil
                    for x in 0..<w where row[x] {
                        let outside = (x > 0 && !row[x - 1]) || (x < w - 1 && !row[x + 1])
                            || (above.map { !$0[x] } ?? false) || (below.map { !$0[x] } ?? false)
                        guard outside else { continue }
                        for yy in max(0, y - r)...min(h - 1, y + r) {
                            for xx in max(0, x - r)...min(w - 1, x + r) where m[yy * w + xx] {
                                let q = p + 3 * (yy * w + xx)
                                q[0] = color.red; q[1] = color.green; q[2] = color.blue
                            }
                        }
                    }
                }
            }
        }
    }

    mutating func fill(x0: Int, y0: Int, x1: Int, y1: Int, color: RGBColor) {
        let xa = max(0, x0), xb = min(image.width - 1, x1)
        let ya = max(0, y0), yb = min(image.height - 1, y1)
        guard xa <= xb, ya <= yb else { return }
        for y in ya...yb {
            for x in xa...xb { image[x, y] = color }
        }
    }

    /// A rectangle outline drawn inward from the box edges.
    mutating func rectangle(_ box: OverlayBox, color: RGBColor, thickness: Int) {
        guard [box.x0, box.y0, box.x1, box.y1].allSatisfy({ $0.isFinite && abs($0) < 1e9 }) else { return }
        let x0 = Int(min(box.x0, box.x1).rounded()), x1 = Int(max(box.x0, box.x1).rounded())
        let y0 = Int(min(box.y0, box.y1).rounded()), y1 = Int(max(box.y0, box.y1).rounded())
        let t = thickness - 1
        let half = t / 2
        fill(x0: x0 - half, y0: y0 - half, x1: x1 + half, y1: y0 - half + t, color: color)
        fill(x0: x0 - half, y0: y1 + half - t, x1: x1 + half, y1: y1 + half, color: color)
        fill(x0: x0 - half, y0: y0 - half, x1: x0 - half + t, y1: y1 + half, color: color)
        fill(x0: x1 + half - t, y0: y0 - half, x1: x1 + half, y1: y1 + half, color: color)
    }

    mutating func disk(x: Double, y: Double, radius: Double, color: RGBColor) {
        guard x.isFinite, y.isFinite, abs(x) < 1e9, abs(y) < 1e9 else { return }
        let ya = max(0, Int((y - radius).rounded(.down))), yb = min(image.height - 1, Int((y + radius).rounded(.up)))
        let xa = max(0, Int((x - radius).rounded(.down))), xb = min(image.width - 1, Int((x + radius).rounded(.up)))
        guard xa <= xb, ya <= yb else { return }
        for py in ya...yb {
            for px in xa...xb {
                let dx = Double(px) - x, dy = Double(py) - y
                if dx * dx + dy * dy <= radius * radius { image[px, py] = color }
            }
        }
    }
}
