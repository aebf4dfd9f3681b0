#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes PNG and JPEG files to 8-bit RGB exactly as Pillow's
/// `Image.open(path).convert("RGB")` does (see docs in `PNGDecoder` for the
/// one documented difference on translucent 16-bit PNGs).
public struct ImageDecoder: Sendable {
    /// Largest accepted `width * height`; checked from the header before any pixel buffer is allocated.
    public var maxPixels: Int

    public init(maxPixels: Int = 100_000_000) {
        self.maxPixels = maxPixels
    }

    /// Whether this build can decode JPEG (it needs the TurboJPEG system library).
    public static var supportsJPEG: Bool { JPEGDecoder.isAvailable }

    public func decode(path: String) throws -> RGBImage {
        // No valid PNG or JPEG within the pixel limit is anywhere near 16 bytes per pixel.
        let (scaled, overflow) = max(maxPixels, 0).multipliedReportingOverflow(by: 16)
        do {
            // The format and, when the header is in the first 64 KB, the pixel
            // limit are checked before the rest is read: a 1 GB file that is
            // no image used to be read whole (1 GB of RAM) before its refusal.
            let bytes = try FileIO.readAll(path: path, maxBytes: overflow ? Int.max : scaled + (64 << 20)) { prefix in
                let format = try ImageFormat.sniff(prefix)
                if let (width, height) = try? ImageFormat.dimensions(of: prefix, format: format) {
                    try checkPixels(width: width, height: height)
                }
            }
            return try decode(bytes: bytes)
        } catch ImageError.empty {
            throw ImageError.cannotRead(path: path, reason: "the file is empty")
        }
    }

    public func decode(bytes: [UInt8]) throws -> RGBImage {
        let format = try ImageFormat.sniff(bytes)
        let (width, height) = try ImageFormat.dimensions(of: bytes, format: format)
        try checkPixels(width: width, height: height)
        switch format {
        case .png: return try PNGDecoder.decode(bytes, expectedWidth: width, expectedHeight: height)
        case .jpeg: return try JPEGDecoder.decode(bytes, expectedWidth: width, expectedHeight: height)
        }
    }

    private func checkPixels(width: Int, height: Int) throws {
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= maxPixels else {
            throw ImageError.tooManyPixels(width: width, height: height, limit: maxPixels)
        }
    }
}

extension RGBImage {
    /// Decodes a PNG or JPEG file; see `ImageDecoder`.
    public init(contentsOf path: String, maxPixels: Int = 100_000_000) throws {
        self = try ImageDecoder(maxPixels: maxPixels).decode(path: path)
    }

    /// Decodes PNG or JPEG bytes; see `ImageDecoder`.
    public init(decoding bytes: [UInt8], maxPixels: Int = 100_000_000) throws {
        self = try ImageDecoder(maxPixels: maxPixels).decode(bytes: bytes)
    }
}
