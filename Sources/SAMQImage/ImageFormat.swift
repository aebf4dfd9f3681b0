/// The container formats the decoder understands, recognised by their magic bytes.
public enum ImageFormat: String, Sendable {
    case png
    case jpeg

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Identifies `bytes` by magic number.
    public static func sniff(_ bytes: [UInt8]) throws -> ImageFormat {
        if bytes.isEmpty { throw ImageError.empty }
        if bytes.starts(with: pngSignature) { return .png }
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        if bytes.count < 8, pngSignature.starts(with: bytes) {
            throw ImageError.corrupt(format: "PNG", reason: "file ends inside the signature")
        }
        throw ImageError.unknownFormat(firstBytes: Array(bytes.prefix(8)))
    }

    /// Width and height read from the header alone, without decoding anything,
    /// so that the pixel limit can be enforced before any allocation.
    static func dimensions(of bytes: [UInt8], format: ImageFormat) throws -> (width: Int, height: Int) {
        switch format {
        case .png: return try pngDimensions(bytes)
        case .jpeg: return try jpegDimensions(bytes)
        }
    }

    private static func bigEndian32(_ b: [UInt8], _ at: Int) -> Int {
        Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3])
    }

    private static func bigEndian16(_ b: [UInt8], _ at: Int) -> Int {
        Int(b[at]) << 8 | Int(b[at + 1])
    }

    /// PNG: IHDR must be the first chunk, 13 bytes long.
    private static func pngDimensions(_ b: [UInt8]) throws -> (width: Int, height: Int) {
        guard b.count >= 24 else { throw ImageError.corrupt(format: "PNG", reason: "file ends before the IHDR header") }
        guard bigEndian32(b, 8) == 13, b[12...15].elementsEqual("IHDR".utf8) else {
            throw ImageError.corrupt(format: "PNG", reason: "the first chunk is not a 13-byte IHDR")
        }
        let width = bigEndian32(b, 16), height = bigEndian32(b, 20)
        // The PNG spec caps both at 2^31 - 1.
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw ImageError.invalidDimensions(width: width, height: height)
        }
        return (width, height)
    }

    /// JPEG: walks the marker segments up to the first start-of-frame.
    private static func jpegDimensions(_ b: [UInt8]) throws -> (width: Int, height: Int) {
        var pos = 2
        while true {
            // Markers are 0xFF followed by a code; extra 0xFF bytes are fill.
            guard pos < b.count, b[pos] == 0xFF else {
                throw ImageError.corrupt(format: "JPEG", reason: pos >= b.count
                    ? "file ends before the frame header" : "expected a marker at byte \(pos)")
            }
            while pos < b.count, b[pos] == 0xFF { pos += 1 }
            guard pos < b.count else { throw ImageError.corrupt(format: "JPEG", reason: "file ends before the frame header") }
            let marker = b[pos]
            pos += 1
            switch marker {
            case 0x01, 0xD0...0xD7: continue // stand-alone markers
            case 0xD9, 0xDA:
                throw ImageError.corrupt(format: "JPEG", reason: "no frame header before the image data")
            default: break
            }
            guard pos + 2 <= b.count else { throw ImageError.corrupt(format: "JPEG", reason: "file ends inside a marker segment") }
            let length = bigEndian16(b, pos)
            guard length >= 2 else { throw ImageError.corrupt(format: "JPEG", reason: "marker segment length \(length) is too short") }
            let isFrame = (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
            if isFrame {
                guard length >= 8, pos + 7 <= b.count else {
                    throw ImageError.corrupt(format: "JPEG", reason: "file ends inside the frame header")
                }
                let height = bigEndian16(b, pos + 3), width = bigEndian16(b, pos + 5)
                guard width > 0, height > 0 else { throw ImageError.invalidDimensions(width: width, height: height) }
                return (width, height)
            }
            pos += length
        }
    }
}
