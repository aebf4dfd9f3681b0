#if canImport(CTurboJPEG)
import CTurboJPEG
#endif

/// JPEG decoding through the TurboJPEG API, which returns error codes (libjpeg's
/// error_exit longjmps only inside the C library), so Swift never sees exit() or longjmp.
///
/// Settings match Pillow's libjpeg use: accurate integer DCT (ISLOW), fancy upsampling,
/// RGB output (gray is replicated). CMYK / YCCK files are converted with Pillow's
/// `CMYK;I` unpacking (Adobe inverted) and its `cmyk2rgb` formula.
/// Truncated files fail ("Premature end of JPEG file"), as they do in Pillow.
enum JPEGDecoder {
    #if canImport(CTurboJPEG)
    static let isAvailable = true

    static func decode(_ bytes: [UInt8], expectedWidth: Int, expectedHeight: Int) throws -> RGBImage {
        guard let handle = tjInitDecompress() else {
            throw ImageError.unsupported(format: "JPEG", reason: "cannot create a TurboJPEG decompressor")
        }
        defer { tjDestroy(handle) }
        return try bytes.withUnsafeBufferPointer { buffer -> RGBImage in
            var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
            guard tjDecompressHeader3(handle, buffer.baseAddress, UInt(buffer.count),
                                      &width, &height, &subsampling, &colorspace) == 0 else {
                throw ImageError.corrupt(format: "JPEG", reason: errorText(handle))
            }
            guard Int(width) == expectedWidth, Int(height) == expectedHeight else {
                throw ImageError.corrupt(format: "JPEG", reason: "frame size \(width)x\(height) disagrees with the header scan")
            }
            let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
            let pixelFormat = isCMYK ? TJPF_CMYK : TJPF_RGB
            let channels = isCMYK ? 4 : 3
            let pixelCount = Int(width) * Int(height)
            var out = [UInt8](repeating: 0, count: pixelCount * channels)
            let flags = Int32(TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS)
            let status = out.withUnsafeMutableBufferPointer {
                tjDecompress2(handle, buffer.baseAddress, UInt(buffer.count), $0.baseAddress,
                              width, 0, height, Int32(pixelFormat.rawValue), flags)
            }
            if status != 0 {
                let text = errorText(handle)
                // Warnings leave a complete image, except a premature end (Pillow fails there too).
                let isWarning = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue)
                if !isWarning || text.lowercased().contains("premature end") {
                    throw ImageError.corrupt(format: "JPEG", reason: text)
                }
            }
            if isCMYK { out = convertInvertedCMYK(out, pixelCount: pixelCount) }
            return RGBImage(uncheckedWidth: Int(width), height: Int(height), pixels: out)
        }
    }

    private static func errorText(_ handle: tjhandle) -> String {
        guard let text = tjGetErrorStr2(handle) else { return "TurboJPEG failed without a message" }
        return String(cString: text)
    }
    #else
    static let isAvailable = false

    static func decode(_ bytes: [UInt8], expectedWidth: Int, expectedHeight: Int) throws -> RGBImage {
        throw ImageError.unsupported(format: "JPEG", reason: "this build has no TurboJPEG (install libturbojpeg0-dev and link CTurboJPEG)")
    }
    #endif

    /// Pillow: raw CMYK from libjpeg is unpacked as `CMYK;I` (inverted), then `cmyk2rgb`.
    static func convertInvertedCMYK(_ raw: [UInt8], pixelCount: Int) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: pixelCount * 3)
        for i in 0..<pixelCount {
            let nk = Int(raw[i * 4 + 3]) // 255 - (255 - k)
            for c in 0..<3 {
                let ink = 255 - Int(raw[i * 4 + c])
                let tmp = ink * nk + 128
                let v = nk - (((tmp >> 8) + tmp) >> 8)
                rgb[i * 3 + c] = UInt8(max(0, min(255, v)))
            }
        }
        return rgb
    }
}
