import CPNG

/// PNG encoding through libpng's simplified write API (errors come back as return codes).
public enum PNGEncoder {
    /// Encodes an RGB image as an 8-bit RGB PNG.
    public static func encode(_ image: RGBImage) throws -> [UInt8] {
        try encode(pixels: image.pixels, width: image.width, height: image.height, format: 0x02)
    }

    /// Encodes a gray image (for example a 0/255 mask) as an 8-bit grayscale PNG.
    public static func encode(_ image: GrayImage) throws -> [UInt8] {
        try encode(pixels: image.pixels, width: image.width, height: image.height, format: 0x00)
    }

    private static func encode(pixels: [UInt8], width: Int, height: Int, format: UInt32) throws -> [UInt8] {
        guard width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw ImageError.invalidDimensions(width: width, height: height)
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        // Speed over size: zlib's default level was a third of a whole
        // `samq segment` on a 1024-px image (three masks and an overlay).
        // Masks stay small either way; they are long runs of 0 and 255.
        image.flags = UInt32(PNG_IMAGE_FLAG_FAST)
        let channels = format == 0x02 ? 3 : 1
        let rawSize = (width * channels + 1) * height
        // One deflate pass into a buffer that holds even incompressible data
        // (stored blocks and IDAT chunks add well under 1/256); libpng's
        // measuring pass would compress everything twice.
        var capacity = rawSize + rawSize / 256 + 4096
        return try pixels.withUnsafeBytes { source -> [UInt8] in
            for _ in 0..<2 {
                // libpng writes the file's `size` bytes into the buffer, which
                // becomes the result as is: no zero fill first, no copy after.
                var size = capacity
                var ok: Int32 = 0
                let out = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                    ok = png_image_write_to_memory(&image, buffer.baseAddress, &size, 0, source.baseAddress, 0, nil)
                    initialized = ok != 0 ? size : 0
                }
                if ok != 0 { return out }
                // Too small (should not happen): libpng reports the size it needs.
                guard size > capacity else { break }
                image.warning_or_error = 0
                capacity = size
            }
            throw ImageError.encodingFailed(format: "PNG", reason: message(of: &image))
        }
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

extension RGBImage {
    /// Writes the image as an RGB PNG, atomically (temporary file, fsync, rename).
    public func writePNG(to path: String) throws {
        try FileIO.writeAtomically(try PNGEncoder.encode(self), to: path)
    }
}

extension GrayImage {
    /// Writes the image as a grayscale PNG, atomically (temporary file, fsync, rename).
    public func writePNG(to path: String) throws {
        try FileIO.writeAtomically(try PNGEncoder.encode(self), to: path)
    }
}
