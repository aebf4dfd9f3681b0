import XCTest
@testable import SAMQImage

/// `Canvas.blend` (per-channel lookup tables) and `Canvas.outline` (one pass
/// over unchecked pointers) must paint exactly what the original per-pixel
/// code painted; the references below are that code, kept verbatim.
final class OverlayFastPathTests: XCTestCase {
    /// The original blend formula, evaluated per pixel and channel.
    private func referenceBlend(_ image: inout RGBImage, mask: [Bool], color: RGBColor, alpha: Double) {
        let c = [Double(color.red), Double(color.green), Double(color.blue)]
        for i in 0..<mask.count where mask[i] {
            for k in 0..<3 {
                let v = (1 - alpha) * Double(image.pixels[i * 3 + k]) + alpha * c[k]
                image.pixels[i * 3 + k] = UInt8(max(0, min(255, v.rounded())))
            }
        }
    }

    /// The original outline: an edge map first, then a square per edge pixel.
    private func referenceOutline(_ image: inout RGBImage, mask: [Bool], color: RGBColor, thickness: Int) {
        let w = image.width, h = image.height
        var edge = [Bool](repeating: false, count: mask.count)
        for y in 0..<h {
            for x in 0..<w where mask[y * w + x] {
                let outside = (x > 0 && !mask[y * w + x - 1]) || (x < w - 1 && !mask[y * w + x + 1])
                    || (y > 0 && !mask[(y - 1) * w + x]) || (y < h - 1 && !mask[(y + 1) * w + x])
                if outside { edge[y * w + x] = true }
            }
        }
        let r = thickness - 1
        for y in 0..<h {
            for x in 0..<w where edge[y * w + x] {
                for yy in max(0, y - r)...min(h - 1, y + r) {
                    for xx in max(0, x - r)...min(w - 1, x + r) where mask[yy * w + xx] {
                        image[xx, yy] = color
                    }
                }
            }
        }
    }

    /// Deterministic pseudo-random numbers (SplitMix64).
    private struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    }

    private static let alphas: [Double] = {
        let steps: [Double] = (0...20).map { Double($0) / 20 }
        let odd: [Double] = [0.45, 1.0 / 3, 2.0 / 3, 0.123456789, 0.999]
        return steps + odd
    }()

    func testBlendTableEqualsTheFormulaForEveryValueAndChannel() {
        var checked = 0, mismatches: [String] = []
        for alpha in Self.alphas {
            for channel in 0..<256 {
                let channels = [channel, 255 - channel, channel / 2]
                let table = Canvas.blendTable(color: RGBColor(UInt8(channels[0]), UInt8(channels[1]), UInt8(channels[2])),
                                              alpha: alpha)
                for k in 0..<3 {
                    for value in 0..<256 {
                        let v = (1 - alpha) * Double(value) + alpha * Double(channels[k])
                        let expected = UInt8(max(0, min(255, v.rounded())))
                        if table[k * 256 + value] != expected { mismatches.append("alpha \(alpha) c \(channels[k]) v \(value)") }
                        checked += 1
                    }
                }
            }
        }
        XCTAssertEqual(checked, Self.alphas.count * 256 * 3 * 256)
        XCTAssertEqual(mismatches, [])
    }

    func testBlendAndOutlineMatchTheReferenceOnRandomImagesAndMasks() throws {
        var random = Random(state: 42)
        for (w, h) in [(1, 1), (1, 7), (9, 1), (37, 23), (128, 96)] {
            let pixels = (0..<(w * h * 3)).map { _ in random.byte() }
            let image = try RGBImage(width: w, height: h, pixels: pixels)
            // Blobs plus noise: long runs, isolated pixels, edges on every border.
            let cx = Int(random.next() % UInt64(w)), cy = Int(random.next() % UInt64(h))
            let mask = (0..<(w * h)).map { i -> Bool in
                let x = i % w, y = i / w
                let inBlob = (x - cx) * (x - cx) + (y - cy) * (y - cy) < (w * w + h * h) / 9
                return inBlob != (random.next() % 11 == 0)
            }
            let color = RGBColor(random.byte(), random.byte(), random.byte())
            for alpha in [0.0, 0.45, 0.5, 1.0] {
                var fast = Canvas(image: image)
                fast.blend(mask: mask, color: color, alpha: alpha)
                var slow = image
                referenceBlend(&slow, mask: mask, color: color, alpha: alpha)
                XCTAssertEqual(fast.image, slow, "blend \(w)×\(h) alpha \(alpha)")
            }
            for thickness in 1...4 {
                var fast = Canvas(image: image)
                fast.outline(mask: mask, color: color, thickness: thickness)
                var slow = image
                referenceOutline(&slow, mask: mask, color: color, thickness: thickness)
                XCTAssertEqual(fast.image, slow, "outline \(w)×\(h) thickness \(thickness)")
            }
        }
    }
}
