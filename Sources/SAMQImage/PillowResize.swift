/// Pillow's `Image.resize(size, Image.BILINEAR)` for 8-bit images, bit for bit.
///
/// A port of `src/libImaging/Resample.c` (`ImagingResampleInner` with the
/// bilinear filter): a separable convolution whose support widens with the
/// downscale factor (antialiasing). Coefficients are computed in double,
/// normalised per output pixel, converted to 22-bit fixed point, and each pass
/// rounds with `1 << 21` and clips to 0...255. The horizontal pass always runs
/// first, over only the rows the vertical pass reads.
enum PillowResize {
    static let precisionBits = 32 - 8 - 2

    /// Per-output-pixel source window and fixed-point weights along one axis.
    struct Coefficients {
        var kernelSize: Int
        var bounds: [(start: Int, count: Int)]
        var weights: [Int32] // bounds.count * kernelSize
    }

    static func bilinear(_ x: Double) -> Double {
        let a = x < 0 ? -x : x
        return a < 1 ? 1 - a : 0
    }

    /// `precompute_coeffs` followed by `normalize_coeffs_8bpc`, for the box [0, inSize).
    static func coefficients(inSize: Int, outSize: Int) -> Coefficients {
        let support = 1.0 // bilinear
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let scaledSupport = support * filterScale
        let kernelSize = Int(scaledSupport.rounded(.up)) * 2 + 1
        var bounds: [(start: Int, count: Int)] = []
        bounds.reserveCapacity(outSize)
        var weights = [Int32](repeating: 0, count: outSize * kernelSize)
        var k = [Double](repeating: 0, count: kernelSize)
        let ss = 1.0 / filterScale
        for xx in 0..<outSize {
            let center = 0.0 + (Double(xx) + 0.5) * scale
            var xmin = Int(center - scaledSupport + 0.5) // C truncation
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + scaledSupport + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var ww = 0.0
            for x in 0..<max(xmax, 0) {
                let w = bilinear((Double(x + xmin) - center + 0.5) * ss)
                k[x] = w
                ww += w
            }
            for x in 0..<max(xmax, 0) {
                if ww != 0 { k[x] /= ww }
            }
            for x in 0..<kernelSize {
                let value = x < xmax ? k[x] : 0
                let fixed = value < 0
                    ? Int32(-0.5 + value * Double(1 << precisionBits))
                    : Int32(0.5 + value * Double(1 << precisionBits))
                weights[xx * kernelSize + x] = fixed
            }
            bounds.append((xmin, max(xmax, 0)))
        }
        return Coefficients(kernelSize: kernelSize, bounds: bounds, weights: weights)
    }

    @inline(__always)
    static func clip8(_ value: Int32) -> UInt8 {
        if value >= (Int32(1) << Int32(precisionBits + 8)) { return 255 }
        if value <= 0 { return 0 }
        return UInt8(truncatingIfNeeded: value >> Int32(precisionBits))
    }

    /// Resizes interleaved 8-bit pixels with `channels` samples per pixel.
    static func resize(_ pixels: [UInt8], width: Int, height: Int, channels: Int,
                       toWidth outWidth: Int, toHeight outHeight: Int) -> [UInt8] {
        if outWidth == width && outHeight == height { return pixels }
        let horizontal = coefficients(inSize: width, outSize: outWidth)
        var vertical = coefficients(inSize: height, outSize: outHeight)
        let needHorizontal = outWidth != width
        let needVertical = outHeight != height
        let half = Int32(1) << Int32(precisionBits - 1)

        var source = pixels
        var sourceWidth = width
        var sourceHeight = height
        if needHorizontal {
            // Only the rows the vertical pass will read.
            let firstRow = vertical.bounds[0].start
            let last = vertical.bounds[outHeight - 1]
            let lastRow = last.start + last.count
            for i in 0..<outHeight { vertical.bounds[i].start -= firstRow }
            let rows = lastRow - firstRow
            var temp = [UInt8](repeating: 0, count: outWidth * rows * channels)
            let ks = horizontal.kernelSize
            pixels.withUnsafeBufferPointer { src in
                temp.withUnsafeMutableBufferPointer { dst in
                    horizontal.weights.withUnsafeBufferPointer { kk in
                        for y in 0..<rows {
                            let srcRow = (y + firstRow) * width * channels
                            let dstRow = y * outWidth * channels
                            for xx in 0..<outWidth {
                                let (xmin, count) = horizontal.bounds[xx]
                                let kOffset = xx * ks
                                for c in 0..<channels {
                                    var ss = half
                                    var p = srcRow + xmin * channels + c
                                    for x in 0..<count {
                                        ss &+= Int32(src[p]) &* kk[kOffset + x]
                                        p += channels
                                    }
                                    dst[dstRow + xx * channels + c] = clip8(ss)
                                }
                            }
                        }
                    }
                }
            }
            source = temp
            sourceWidth = outWidth
            sourceHeight = rows
        }
        guard needVertical else { return source }
        _ = sourceHeight
        var out = [UInt8](repeating: 0, count: sourceWidth * outHeight * channels)
        let ks = vertical.kernelSize
        let rowLength = sourceWidth * channels
        source.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                vertical.weights.withUnsafeBufferPointer { kk in
                    for yy in 0..<outHeight {
                        let (ymin, count) = vertical.bounds[yy]
                        let kOffset = yy * ks
                        for i in 0..<rowLength {
                            var ss = half
                            var p = ymin * rowLength + i
                            for y in 0..<count {
                                ss &+= Int32(src[p]) &* kk[kOffset + y]
                                p += rowLength
                            }
                            dst[yy * rowLength + i] = clip8(ss)
                        }
                    }
                }
            }
        }
        return out
    }
}

extension RGBImage {
    /// Pillow-exact bilinear resize (`Image.resize((width, height), Image.BILINEAR)`).
    public func resizedBilinear(width newWidth: Int, height newHeight: Int) throws -> RGBImage {
        guard newWidth > 0, newHeight > 0 else { throw ImageError.invalidDimensions(width: newWidth, height: newHeight) }
        let (count, overflow) = newWidth.multipliedReportingOverflow(by: newHeight)
        guard !overflow, count <= Int.max / 3 else { throw ImageError.invalidDimensions(width: newWidth, height: newHeight) }
        let out = PillowResize.resize(pixels, width: width, height: height, channels: 3,
                                      toWidth: newWidth, toHeight: newHeight)
        return RGBImage(uncheckedWidth: newWidth, height: newHeight, pixels: out)
    }
}
