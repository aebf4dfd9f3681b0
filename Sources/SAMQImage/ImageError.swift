/// Everything that can go wrong reading, writing or transforming an image.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    case empty
    case unknownFormat(firstBytes: [UInt8])
    case unsupported(format: String, reason: String)
    case invalidDimensions(width: Int, height: Int)
    case tooManyPixels(width: Int, height: Int, limit: Int)
    /// Scaling the long side to the model's input leaves the short side 0 pixels.
    case tooElongated(width: Int, height: Int, targetLength: Int, minimumShortSide: Int)
    /// The file is truncated or corrupt; `reason` is the codec's own message.
    case corrupt(format: String, reason: String)
    case encodingFailed(format: String, reason: String)
    case pixelCountMismatch(expected: Int, actual: Int)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .cannotRead(path, reason): return "cannot read \(path): \(reason)"
        case .empty: return "the image file is empty"
        case let .unknownFormat(bytes):
            let hex = bytes.map { String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            return "not a PNG or JPEG file (first bytes: \(hex.isEmpty ? "none" : hex))"
        case let .unsupported(format, reason): return "unsupported \(format): \(reason)"
        case let .invalidDimensions(width, height): return "invalid image size \(width)x\(height)"
        case let .tooManyPixels(width, height, limit):
            return "image is \(width)x\(height) = \(width.multipliedReportingOverflow(by: height).partialValue) pixels, over the limit of \(limit)"
        case let .tooElongated(width, height, targetLength, minimumShortSide):
            return "a \(width)x\(height) image is too elongated for a \(targetLength)-pixel model input: scaled to "
                + "\(targetLength) px on its long side, its short side rounds to 0 px. Crop it, or pad its short side "
                + "to at least \(minimumShortSide) px"
        case let .corrupt(format, reason): return "corrupt or truncated \(format): \(reason)"
        case let .encodingFailed(format, reason): return "cannot encode \(format): \(reason)"
        case let .pixelCountMismatch(expected, actual): return "expected \(expected) pixel bytes, got \(actual)"
        case let .invalidArgument(text): return text
        }
    }
}
