/// An 8-bit RGB image: `pixels` holds `height` rows of `width` interleaved RGB triples.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public internal(set) var pixels: [UInt8]

    /// Creates an image from interleaved RGB bytes (`width * height * 3` of them).
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else { throw ImageError.invalidDimensions(width: width, height: height) }
        let (pixelCount, o1) = width.multipliedReportingOverflow(by: height)
        let (byteCount, o2) = pixelCount.multipliedReportingOverflow(by: 3)
        guard !o1, !o2 else { throw ImageError.invalidDimensions(width: width, height: height) }
        guard pixels.count == byteCount else {
            throw ImageError.pixelCountMismatch(expected: byteCount, actual: pixels.count)
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A `width` x `height` image filled with one colour.
    public init(width: Int, height: Int, filledWith color: RGBColor = RGBColor(0, 0, 0)) throws {
        guard width > 0, height > 0 else { throw ImageError.invalidDimensions(width: width, height: height) }
        let (pixelCount, o1) = width.multipliedReportingOverflow(by: height)
        let (byteCount, o2) = pixelCount.multipliedReportingOverflow(by: 3)
        guard !o1, !o2 else { throw ImageError.invalidDimensions(width: width, height: height) }
        var bytes = [UInt8](repeating: 0, count: byteCount)
        for i in stride(from: 0, to: byteCount, by: 3) {
            bytes[i] = color.red; bytes[i + 1] = color.green; bytes[i + 2] = color.blue
        }
        self.width = width
        self.height = height
        self.pixels = bytes
    }

    /// Trusted internal initializer: the caller guarantees the byte count.
    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The colour at column `x`, row `y` (both must be in range).
    public subscript(x: Int, y: Int) -> RGBColor {
        get {
            let i = (y * width + x) * 3
            return RGBColor(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            let i = (y * width + x) * 3
            pixels[i] = newValue.red; pixels[i + 1] = newValue.green; pixels[i + 2] = newValue.blue
        }
    }
}

/// One 8-bit RGB colour.
public struct RGBColor: Equatable, Hashable, Sendable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }
}
