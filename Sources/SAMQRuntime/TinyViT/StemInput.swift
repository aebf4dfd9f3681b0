import SAMQImage

/// Where the conv stem reads the preprocessed image from: the `C × S × S`
/// tensor, or the resized RGB bytes normalized and zero-padded strip by strip
/// (the same arithmetic as `SAMPreprocessing.normalizeAndPad`), which saves
/// the 12 MB tensor of a 1024 px input.
enum StemInput {
    case tensor([Float])
    case image(RGBImage, mean: [Float], std: [Float])

    /// Image rows `rows` of the padded `size × size` input, channels last.
    func fill(rows: Range<Int>, size: Int, channels: Int, into dst: UnsafeMutablePointer<Float>) {
        switch self {
        case let .tensor(values):
            values.withUnsafeBufferPointer { src in
                let n = rows.count * size
                for c in 0..<channels {
                    let plane = src.baseAddress! + c * size * size + rows.lowerBound * size
                    for i in 0..<n { dst[i * channels + c] = plane[i] }
                }
            }
        case let .image(image, mean, std):
            dst.update(repeating: 0, count: rows.count * size * channels)
            image.pixels.withUnsafeBufferPointer { px in
                for y in rows where y < image.height {
                    let out = dst + (y - rows.lowerBound) * size * channels
                    let src = px.baseAddress! + y * image.width * 3
                    for x in 0..<image.width {
                        for c in 0..<channels { out[x * channels + c] = (Float(src[x * 3 + c]) - mean[c]) / std[c] }
                    }
                }
            }
        }
    }
}
