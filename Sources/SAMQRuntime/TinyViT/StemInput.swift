import SAMQImage

/// Where the conv stem reads the preprocessed image from: the `C × S × S`
/// tensor, or the resized RGB bytes normalized and zero-padded strip by strip
/// (the same arithmetic as `SAMPreprocessing.normalizeAndPad`), which saves
/// the 12 MB tensor of a 1024 px input.
enum StemInput {
    case tensor([Float])
    case image(RGBImage, mean: [Float], std: [Float])

    /// The first row from which every row of the `size × size` input is zero
    /// (+0.0 bits: a −0.0 could give a conv sum of another sign), or `size`.
    func zeroRowsStart(size: Int, channels: Int) -> Int {
        switch self {
        case let .tensor(values):
            return Self.zeroTailStart(values, size: size, channels: channels) { c, row, i in (c * size + row) * size + i }
        case let .image(image, _, _):
            return min(size, image.height)
        }
    }

    /// The first column from which every column of the input is zero (+0.0
    /// bits), or `size`.
    func zeroColumnsStart(size: Int, channels: Int) -> Int {
        switch self {
        case let .tensor(values):
            return Self.zeroTailStart(values, size: size, channels: channels) { c, column, i in (c * size + i) * size + column }
        case let .image(image, _, _):
            return min(size, image.width)
        }
    }

    /// The first line from which every line is +0.0 in every channel, lines
    /// counted from the end; `index(channel, line, position)` addresses them.
    private static func zeroTailStart(_ values: [Float], size: Int, channels: Int,
                                      index: (Int, Int, Int) -> Int) -> Int {
        var start = size
        while start > 0 {
            let line = start - 1
            let isZero = (0..<channels).allSatisfy { c in
                (0..<size).allSatisfy { values[index(c, line, $0)].bitPattern == 0 }
            }
            guard isZero else { break }
            start = line
        }
        return start
    }

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
            // Row-parallel: serially this was ~2% of a vit_t encode.
            let rowLength = size * channels, lower = rows.lowerBound
            image.pixels.withUnsafeBufferPointer { px in
                Parallel.forEach(tasks: rows.count) { i, _ in
                    let y = lower + i, out = dst + i * rowLength
                    guard y < image.height else {
                        out.update(repeating: 0, count: rowLength)
                        return
                    }
                    let src = px.baseAddress! + y * image.width * 3
                    for x in 0..<image.width {
                        for c in 0..<channels { out[x * channels + c] = (Float(src[x * 3 + c]) - mean[c]) / std[c] }
                    }
                    (out + image.width * channels).update(repeating: 0, count: (size - image.width) * channels)
                }
            }
        }
    }
}
