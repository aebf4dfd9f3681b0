import SAMQFormat

/// TinyViT's `PatchEmbed`: 3×3 stride-2 conv + GELU, 3×3 stride-2 conv
/// (BatchNorms folded), image side ÷ 4. The first conv (3 input channels)
/// is always f32; the second is int8 on the int8 path.
///
/// Runs over bands of output rows straight from the `C × S × S` input, so
/// neither a channels-last copy of the image (12 MB at 1024 px) nor the
/// half-resolution map (32 MB for vit_t) is ever whole. A band is computed
/// with the existing convolutions on a slice of rows that starts one output
/// row early (that row would see the slice's zero padding instead of the
/// real row above, so it is dropped).
struct ConvStem {
    enum Second {
        case float32(Conv2d)
        case int8(QuantizedConv2d)
    }
    let first: Conv2d
    let second: Second
    let inChannels: Int
    let outChannels: Int
    /// Output rows per band.
    var bandRows = 16

    init(weights: WeightProvider, outChannels: Int, inChannels: Int, context: Int8Context?) throws {
        let half = outChannels / 2
        first = try Conv2d(weights: weights, prefix: "image_encoder.patch_embed.seq.0", inChannels: inChannels,
                           outChannels: half, kernel: 3, stride: 2, padding: 1)
        let prefix = "image_encoder.patch_embed.seq.2"
        if let context, TokenLinear.isStoredInt8(weights, prefix + ".weight") {
            second = .int8(try QuantizedConv2d(weights: weights, prefix: prefix, inChannels: half, outChannels: outChannels,
                                               kernel: 3, stride: 2, padding: 1, context: context))
        } else {
            second = .float32(try Conv2d(weights: weights, prefix: prefix, inChannels: half, outChannels: outChannels,
                                         kernel: 3, stride: 2, padding: 1))
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
    }

    /// Side after a 3×3 stride-2 pad-1 conv.
    static func half(_ side: Int) -> Int { (side - 1) / 2 + 1 }

    /// Rows of the input a stride-2 band of output rows `rows` is computed
    /// from, and how many leading output rows to drop.
    static func sourceRows(for rows: Range<Int>, inputHeight: Int) -> (Range<Int>, drop: Int) {
        let start = rows.lowerBound == 0 ? 0 : 2 * rows.lowerBound - 2
        return (start..<min(inputHeight, 2 * rows.upperBound), rows.lowerBound == 0 ? 0 : 1)
    }

    /// Output side for an `S × S` image.
    static func outputSize(_ size: Int) -> Int { half(half(size)) }

    /// Output rows `rows` (`[rows][S/4][outChannels]`) of the `size × size` input.
    func rows(_ rows: Range<Int>, of image: StemInput, size: Int, scratch: StripScratch) throws -> [Float] {
        let s1 = Self.half(size), s2 = Self.half(s1)
        let (halfRows, dropOut) = Self.sourceRows(for: rows, inputHeight: s1)
        let (imageRows, dropHalf) = Self.sourceRows(for: halfRows, inputHeight: size)
        let count = imageRows.count * size * inChannels
        let slice = scratch.floats(.stemSlice, count)
        image.fill(rows: imageRows, size: size, channels: inChannels, into: slice)
        var half = first(Array(UnsafeBufferPointer(start: slice, count: count)), height: imageRows.count, width: size,
                         activation: .gelu)
        if dropHalf > 0 { half.removeFirst(dropHalf * first.outputSize(size) * first.outChannels) }
        var produced: [Float]
        switch second {
        case let .float32(conv): produced = conv(half, height: halfRows.count, width: s1)
        case let .int8(conv): produced = try conv(half, height: halfRows.count, width: s1)
        }
        let rowSize = s2 * outChannels
        if dropOut > 0 { produced.removeFirst(dropOut * rowSize) }
        precondition(produced.count == rows.count * rowSize, "internal stem strip of the wrong size")
        return produced
    }
}
