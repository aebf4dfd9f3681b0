/// `Sam.preprocess`: per-channel normalisation and bottom/right zero padding.
public enum SAMPreprocessing {
    /// SAM's pixel mean and standard deviation (RGB, 0...255 scale).
    public static let pixelMean: [Float] = [123.675, 116.28, 103.53]
    public static let pixelStd: [Float] = [58.395, 57.12, 57.375]

    /// Returns a CHW float32 tensor of 3 x `size` x `size`: `(pixel - mean) / std`
    /// computed in Float as torch does, with zeros right of and below the image.
    /// The image (already resized) must fit in `size` x `size`.
    public static func normalizeAndPad(_ image: RGBImage, size: Int,
                                       mean: [Float] = pixelMean, std: [Float] = pixelStd) throws -> [Float] {
        guard size > 0, image.width <= size, image.height <= size else {
            throw ImageError.invalidArgument("a \(image.size) image does not fit the \(size)x\(size) model input")
        }
        guard mean.count == 3, std.count == 3, std.allSatisfy({ $0 != 0 && $0.isFinite }) else {
            throw ImageError.invalidArgument("mean and std need 3 finite values each, std non-zero")
        }
        let (plane, overflow) = size.multipliedReportingOverflow(by: size)
        guard !overflow, plane <= Int.max / 3 else { throw ImageError.invalidArgument("input size \(size) is too large") }
        var out = [Float](repeating: 0, count: 3 * plane)
        image.pixels.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    let m = mean[c], s = std[c]
                    for y in 0..<image.height {
                        let row = c * plane + y * size
                        let srcRow = y * image.width * 3
                        for x in 0..<image.width {
                            dst[row + x] = (Float(px[srcRow + x * 3 + c]) - m) / s
                        }
                    }
                }
            }
        }
        return out
    }
}
