import SAMQFormat

/// The ViT patch embedding (`Conv2d(3, dim, kernel = stride = patch)`) in
/// W8A8, read straight from the channels-first image tensor.
///
/// With kernel == stride and no padding every patch is a disjoint block, so
/// im2col is a pure reshape: patch (py, px) → row of `c·p² + ky·p + kx`,
/// gathered as `3·p` contiguous runs of `p` floats. No channels-last
/// transpose of the 12 MB input is needed.
public struct QuantizedPatchEmbed: @unchecked Sendable {
    public let linear: QuantizedLinear
    public let inChannels: Int
    public let patchSize: Int
    public var chunkRows = 512

    public init(weight: PackedInt8Matrix, bias: [Float]?, inChannels: Int, patchSize: Int,
                context: Int8Context) throws(Int8RuntimeError) {
        guard inChannels > 0, patchSize > 0, weight.k == inChannels * patchSize * patchSize else {
            throw .invalidConfiguration("patch embed weight '\(weight.name)' has k = \(weight.k), expected \(inChannels)·\(patchSize)²")
        }
        linear = try QuantizedLinear(weight: weight, bias: bias, context: context)
        self.inChannels = inChannels
        self.patchSize = patchSize
    }

    /// Mirrors how the f32 encoder builds its patch embedding.
    init(weights: WeightProvider, prefix: String, inChannels: Int, embedDim: Int, patchSize: Int,
         context: Int8Context) throws {
        let matrix = try PackedInt8Matrix(weights: weights, name: prefix + ".weight", view: .conv,
                                          shape: [embedDim, inChannels, patchSize, patchSize])
        let bias = try weights.tensor(prefix + ".bias", shape: [embedDim])
        try self.init(weight: matrix, bias: bias, inChannels: inChannels, patchSize: patchSize, context: context)
    }

    /// `image` is `[inChannels][height][width]` (C order, as preprocessed);
    /// returns channels-last tokens `[height/p][width/p][embedDim]`.
    public func callAsFunction(image: [Float], height: Int, width: Int) throws(Int8RuntimeError) -> [Float] {
        let p = patchSize, cin = inChannels
        guard height > 0, width > 0, height % p == 0, width % p == 0 else {
            throw .invalidConfiguration("image \(height)×\(width) is not a multiple of the patch size \(p)")
        }
        guard image.count == cin * height * width else {
            throw .shapeMismatch(what: "image tensor", expected: cin * height * width, actual: image.count)
        }
        let gw = width / p
        return try image.withUnsafeBufferPointer { (source) throws(Int8RuntimeError) in
            let src = source.baseAddress!
            return try linear.forwardGathered(rows: (height / p) * gw, chunkRows: chunkRows) { token, row in
                let py = token / gw, px = token % gw
                var dst = row
                for c in 0..<cin {
                    for ky in 0..<p {
                        dst.update(from: src + (c * height + py * p + ky) * width + px * p, count: p)
                        dst += p
                    }
                }
            }
        }
    }
}
