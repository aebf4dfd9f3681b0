/// The folded cross-attentions (`DecoderAttention+Folded`) on the int8
/// kernels: same operands and softmax, with the three image-sized products
/// of each attention in W8A8. The image rows (`[4096][C]`) are the GEMM
/// activations, quantized per row on the fly; the small prompt-dependent
/// operands are quantized per GEMM column and packed per call
/// (`PanelPacker`), which costs far less than the products. Only P·V of
/// token→image, whose "weight" is the image itself, packs an image-sized
/// operand (`V`, per channel over the pixels).
extension DecoderAttention {
    /// token→image in int8; see `accumulateTokenToImage(tokens:keysWithPE:values:into:)`.
    func accumulateTokenToImage(tokens: [Float], keysWithPE: [Float], values: [Float], into residual: inout [Float],
                                int8 context: Int8Context) throws {
        let dim = qProj.inFeatures
        let pixels = keysWithPE.count / dim
        let (a, beta) = tokenToImageScoreOperands(tokens: tokens)
        let rows = beta.count
        // scoresᵀ[j][h*N+i] = x_j·a[h*N+i]: the image rows are the activations.
        let packedA = try a.withUnsafeBufferPointer {
            try PackedInt8Matrix(packingRows: $0.baseAddress!, rows: rows, cols: dim, ld: dim, name: "token→image scores")
        }
        let transposed = try QuantizedLinear(weight: packedA, bias: nil, context: context)(keysWithPE)
        var scores = Tensor.transpose(transposed, rows: pixels, cols: rows)
        Self.addBiasAndSoftmax(&scores, rows: rows, beta: beta)
        // z = P·V with V packed per channel.
        let packedV = try values.withUnsafeBufferPointer {
            try PackedInt8Matrix(packingColumns: $0.baseAddress!, rows: pixels, cols: dim, ld: dim, name: "token→image values")
        }
        let z = try QuantizedLinear(weight: packedV, bias: nil, context: context)(scores)
        outProj.accumulate(tokenToImageOutput(z, tokenCount: tokens.count / dim), into: &residual)
    }

    /// image→token in int8; see `accumulateImageToToken(image:tokensWithPE:tokens:into:)`.
    func accumulateImageToToken(image: ImageQueries, tokensWithPE: [Float], tokens: [Float], into keys: inout [Float],
                                int8 context: Int8Context) throws {
        guard heads == 8 else {
            accumulateImageToToken(image: image, tokensWithPE: tokensWithPE, tokens: tokens, into: &keys)
            return
        }
        let dim = qProj.inFeatures
        let pixels = keys.count / dim
        let (b, gamma, u, width) = imageToTokenOperands(image: image, tokensWithPE: tokensWithPE, tokens: tokens)
        let cols = gamma.count
        let x: [Float]
        switch image {
        case .raw(let values), .projected(let values): x = values
        }
        let packedB = try b.withUnsafeBufferPointer {
            try PackedInt8Matrix(packingRows: $0.baseAddress!, rows: cols, cols: width, ld: width, name: "image→token scores")
        }
        var scores = try QuantizedLinear(weight: packedB, bias: gamma, context: context)(x)
        scores.withUnsafeMutableBufferPointer {
            Self.softmaxRowsAcrossVectors($0.baseAddress!, rows: pixels, columns: cols)
        }
        // keys += P·U + bo, U packed per output channel over the 8N tokens.
        let packedU = try u.withUnsafeBufferPointer {
            try PackedInt8Matrix(packingColumns: $0.baseAddress!, rows: cols, cols: dim, ld: dim, name: "image→token values")
        }
        try QuantizedLinear(weight: packedU, bias: outProj.bias, context: context).accumulate(scores, into: &keys)
    }
}

