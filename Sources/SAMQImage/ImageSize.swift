/// A size in pixels.
public struct ImageSize: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)x\(height)" }
}

extension RGBImage {
    public var size: ImageSize { ImageSize(width: width, height: height) }
}
