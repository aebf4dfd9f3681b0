import CPNG

/// PNG decoding through libpng's simplified API, which reports every error
/// through return codes (its setjmp stays inside libpng), never by longjmp into Swift.
///
/// Output matches Pillow's `Image.open(p).convert("RGB")`:
/// - gray, gray+alpha, palette (+tRNS), RGB, RGBA at 1-8 bits: exact; alpha is dropped, not composited.
/// - gAMA / cHRM / sRGB / iCCP are ignored, as Pillow ignores them (the chunks are
///   removed before libpng sees the stream, so it applies no colour transform).
/// - 16-bit RGB, RGBA, gray+alpha: the high byte of each sample (Pillow's `;16B` unpackers).
/// - 16-bit gray: Pillow opens it as mode `I;16`, whose RGB conversion clips at 255; so does this.
/// - Difference: for 16-bit images with alpha, libpng's 16-bit output is premultiplied; colours are
///   recovered by dividing by alpha, which is exact where alpha is 65535 and may be off by one
///   (8-bit) where a pixel is translucent; fully transparent 16-bit pixels come out black.
enum PNGDecoder {
    private static let flagAlpha: UInt32 = 0x01
    private static let flagColor: UInt32 = 0x02
    private static let flagLinear: UInt32 = 0x04
    private static let flagColormap: UInt32 = 0x08

    static func decode(_ bytes: [UInt8], expectedWidth: Int, expectedHeight: Int) throws -> RGBImage {
        let stream = removingColorChunks(bytes)
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        return try stream.withUnsafeBytes { buffer -> RGBImage in
            guard png_image_begin_read_from_memory(&image, buffer.baseAddress, buffer.count) != 0 else {
                throw ImageError.corrupt(format: "PNG", reason: message(of: &image))
            }
            defer { png_image_free(&image) }
            let width = Int(image.width), height = Int(image.height)
            guard width == expectedWidth, height == expectedHeight else {
                throw ImageError.corrupt(format: "PNG", reason: "header size changed while decoding")
            }
            let fileFormat = image.format
            let hasAlpha = fileFormat & flagAlpha != 0
            let hasColor = fileFormat & flagColor != 0
            let sixteenBit = fileFormat & flagLinear != 0 && fileFormat & flagColormap == 0
            let channels = (hasColor ? 3 : 1) + (hasAlpha ? 1 : 0)
            let count = width * height * channels
            if sixteenBit {
                // Linear 16-bit output; the file has no gamma chunk left, so libpng
                // treats its samples as linear too and returns them unchanged.
                image.format = flagLinear | (hasColor ? flagColor : 0) | (hasAlpha ? flagAlpha : 0)
                var samples = [UInt16](repeating: 0, count: count)
                let ok = samples.withUnsafeMutableBytes {
                    png_image_finish_read(&image, nil, $0.baseAddress, 0, nil)
                }
                guard ok != 0 else { throw ImageError.corrupt(format: "PNG", reason: message(of: &image)) }
                return convert16(samples, width: width, height: height, color: hasColor, alpha: hasAlpha)
            } else {
                image.format = (hasColor ? flagColor : 0) | (hasAlpha ? flagAlpha : 0)
                // libpng fills every sample on success; on failure the buffer is dropped.
                var ok: Int32 = 0
                let samples = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                    ok = png_image_finish_read(&image, nil, buffer.baseAddress, 0, nil)
                    initialized = ok != 0 ? count : 0
                }
                guard ok != 0 else { throw ImageError.corrupt(format: "PNG", reason: message(of: &image)) }
                return convert8(samples, width: width, height: height, channels: channels, color: hasColor)
            }
        }
    }

    private static func message(of image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return text.isEmpty ? "libpng failed without a message" : text
    }

    private static func convert8(_ s: [UInt8], width: Int, height: Int, channels: Int, color: Bool) -> RGBImage {
        let n = width * height
        if channels == 3 { return RGBImage(uncheckedWidth: width, height: height, pixels: s) }
        var out = [UInt8](repeating: 0, count: n * 3)
        for i in 0..<n {
            let j = i * channels
            if color {
                out[i * 3] = s[j]; out[i * 3 + 1] = s[j + 1]; out[i * 3 + 2] = s[j + 2]
            } else {
                out[i * 3] = s[j]; out[i * 3 + 1] = s[j]; out[i * 3 + 2] = s[j]
            }
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: out)
    }

    private static func convert16(_ s: [UInt16], width: Int, height: Int, color: Bool, alpha: Bool) -> RGBImage {
        let n = width * height
        let channels = (color ? 3 : 1) + (alpha ? 1 : 0)
        var out = [UInt8](repeating: 0, count: n * 3)
        for i in 0..<n {
            let j = i * channels
            let a = alpha ? UInt32(s[j + channels - 1]) : 65535
            func sample(_ k: Int) -> UInt32 {
                let v = UInt32(s[j + k])
                if a == 65535 { return v }
                if a == 0 { return 0 }
                return min(65535, (v * 65535 + a / 2) / a)
            }
            if color {
                out[i * 3] = UInt8(sample(0) >> 8)
                out[i * 3 + 1] = UInt8(sample(1) >> 8)
                out[i * 3 + 2] = UInt8(sample(2) >> 8)
            } else {
                // Gray without alpha is Pillow mode I;16 (clipped at 255); gray+alpha is LA (high byte).
                let v = alpha ? UInt8(sample(0) >> 8) : UInt8(min(sample(0), 255))
                out[i * 3] = v; out[i * 3 + 1] = v; out[i * 3 + 2] = v
            }
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: out)
    }

    /// Drops the colour-management chunks (gAMA, cHRM, sRGB, iCCP) that precede
    /// IDAT. Chunks are self-contained (each has its own CRC), so the stream stays
    /// valid. Anything malformed is left for libpng to report.
    static func removingColorChunks(_ bytes: [UInt8]) -> [UInt8] {
        let dropped: Set<String> = ["gAMA", "cHRM", "sRGB", "iCCP"]
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        out.append(contentsOf: bytes.prefix(8))
        var pos = 8
        while pos + 12 <= bytes.count {
            let length = Int(bytes[pos]) << 24 | Int(bytes[pos + 1]) << 16 | Int(bytes[pos + 2]) << 8 | Int(bytes[pos + 3])
            let type = String(decoding: bytes[(pos + 4)..<(pos + 8)], as: UTF8.self)
            let (end, overflow) = (pos + 12).addingReportingOverflow(length)
            guard !overflow, end <= bytes.count, type != "IDAT" else { break }
            if !dropped.contains(type) { out.append(contentsOf: bytes[pos..<end]) }
            pos = end
        }
        if pos < bytes.count { out.append(contentsOf: bytes[pos...]) }
        return out
    }
}
