import SAMQImage

extension RGBImage {
    /// The pixels of `crop` (`image[y0:y1, x0:x1, :]`).
    func cropped(to crop: CropBox) throws -> RGBImage {
        if crop.x0 == 0 && crop.y0 == 0 && crop.x1 == width && crop.y1 == height { return self }
        var bytes = [UInt8]()
        bytes.reserveCapacity(crop.width * crop.height * 3)
        for y in crop.y0..<crop.y1 {
            let row = (y * width + crop.x0) * 3
            bytes += pixels[row..<(row + crop.width * 3)]
        }
        return try RGBImage(width: crop.width, height: crop.height, pixels: bytes)
    }
}
