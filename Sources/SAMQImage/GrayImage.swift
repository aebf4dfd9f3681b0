/// An 8-bit single-channel image (masks are stored as 0 / 255).
public struct GrayImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public internal(set) var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else { throw ImageError.invalidDimensions(width: width, height: height) }
        let (count, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow else { throw ImageError.invalidDimensions(width: width, height: height) }
        guard pixels.count == count else { throw ImageError.pixelCountMismatch(expected: count, actual: pixels.count) }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A binary mask as a gray image: `true` -> 255, `false` -> 0.
    public init(width: Int, height: Int, mask: [Bool]) throws {
        try self.init(width: width, height: height, pixels: mask.map { $0 ? 255 : 0 })
    }
}
