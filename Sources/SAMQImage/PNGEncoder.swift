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
        return try pixels.withUnsafeBytes { source -> [UInt8] in
            var size = 0
            // First pass measures, second pass writes.
            guard png_image_write_to_memory(&image, nil, &size, 0, source.baseAddress, 0, nil) != 0 else {
                throw ImageError.encodingFailed(format: "PNG", reason: message(of: &image))
            }
            var out = [UInt8](repeating: 0, count: size)
            let ok = out.withUnsafeMutableBytes {
                png_image_write_to_memory(&image, $0.baseAddress, &size, 0, source.baseAddress, 0, nil)
            }
            guard ok != 0 else { throw ImageError.encodingFailed(format: "PNG", reason: message(of: &image)) }
            return Array(out.prefix(size))
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
