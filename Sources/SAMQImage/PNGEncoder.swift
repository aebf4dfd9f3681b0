/// PNG encoding: rows filtered and deflated by `PNGBandEncoder` (zlib
/// directly), 8-bit gray or RGB. Callers with threads to spare compress the
/// bands concurrently (`SegmentationOutput`); these entry points run them in
/// order on the calling thread, with the same bytes as a result.
public enum PNGEncoder {
    /// Encodes an RGB image as an 8-bit RGB PNG.
    public static func encode(_ image: RGBImage, compression: PNGCompression = .photo) throws(ImageError) -> [UInt8] {
        try encode(PNGBandEncoder(image, compression: compression))
    }

    /// Encodes a gray image (for example a 0/255 mask) as an 8-bit grayscale PNG.
    public static func encode(_ image: GrayImage, compression: PNGCompression = .mask) throws(ImageError) -> [UInt8] {
        try encode(PNGBandEncoder(image, compression: compression))
    }

    static func encode(_ encoder: PNGBandEncoder) throws(ImageError) -> [UInt8] {
        var bands: [PNGBandEncoder.Band] = []
        bands.reserveCapacity(encoder.bandCount)
        for index in 0..<encoder.bandCount { bands.append(try encoder.band(index)) }
        return encoder.file(bands)
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
