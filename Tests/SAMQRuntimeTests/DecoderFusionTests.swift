import CKernels
import SAMQFormat
import XCTest
@testable import SAMQRuntime

/// The decoder's memory-saving rewrites against the straightforward
/// computations they replace: fused upscaling, quantize-once image rows,
/// the broadcast dense embedding and f16-weight linears.
final class DecoderFusionTests: XCTestCase {
    private func tinyDecoder() throws -> (MaskDecoder, Int) {
        // tiny_c (official decoder shapes) lives outside the repository;
        // tiny_a's weights are committed, so a fresh checkout runs this too.
        guard let f = Fixtures.shared else { throw FixtureError("fixtures manifest not found") }
        for name in ["tiny_c", "tiny_a"] {
            if let weights = try f.weights(name) {
                return (try MaskDecoder(weights: weights, precision: .int8), weights.config.embeddingSize)
            }
        }
        throw FixtureError("neither tiny_c nor tiny_a weights found")
    }

    /// Tiles of the fused upscaling + hypernetwork product equal the
    /// whole-tensor pipeline (same GEMMs, LayerNorm, GELU; only the final
    /// dot's summation order differs) in spatial order, for 1 and 3 planes.
    func testFusedUpscalingMatchesWholeTensorPipeline() throws {
        let (decoder, side) = try tinyDecoder()
        let int8 = try XCTUnwrap(decoder.int8)
        let (first, second) = try XCTUnwrap(int8.upscaling)
        let dim = decoder.dim, hyperDim = dim / 8
        var rng = Int8TestRandom(seed: 11)
        let processed = rng.normal(side * side * dim)
        for count in [1, 3] {
            let hyper = rng.uniform(count * hyperDim)
            let fused = try int8.withContext {
                try int8.upscaledMasks(processed, norm: decoder.upscaleNorm, hyper: hyper, count: count, side: side,
                                       context: $0)
            }
            // Reference: whole tensors, block order, then the scatter.
            let blocks: [Float] = try int8.withContext { context in
                var hidden = try first.using(context)(processed)
                DecoderLayerNorm.applyInPlace(decoder.upscaleNorm, &hidden, gelu: true)
                let upscaled = try second.using(context)(hidden, activation: .gelu)
                return MatMul.linear(hyper, rows: count, inFeatures: hyperDim, weight: upscaled,
                                     outFeatures: upscaled.count / hyperDim, bias: nil)
            }
            let width = 4 * side, plane = width * width
            XCTAssertEqual(fused.count, count * plane)
            var worst: Float = 0, scale: Float = 0
            for t in 0..<count {
                for p in 0..<(side * side) {
                    let y = p / side, x = p % side
                    for q in 0..<16 {
                        let q1 = q >> 2, q2 = q & 3
                        let spot = (4 * y + 2 * (q1 >> 1) + (q2 >> 1)) * width + 4 * x + 2 * (q1 & 1) + (q2 & 1)
                        let expected = blocks[t * plane + p * 16 + q]
                        worst = max(worst, abs(fused[t * plane + spot] - expected))
                        scale = max(scale, abs(expected))
                    }
                }
            }
            XCTAssertLessThanOrEqual(worst, 1e-5 * max(scale, 1), "count \(count)")
        }
        XCTAssertThrowsError(try int8.withContext {
            try int8.upscaledMasks(Array(processed.dropLast()), norm: decoder.upscaleNorm, hyper: [], count: 0,
                                   side: side, context: $0)
        })
    }

    /// Rows quantized beforehand (the last block's `plain` keys) give the
    /// bits of the upscaling quantizing them itself; rows of another shape
    /// are not used.
    func testUpscalingReusesRowsQuantizedBeforehand() throws {
        let (decoder, side) = try tinyDecoder()
        let int8 = try XCTUnwrap(decoder.int8)
        XCTAssertNotNil(int8.upscaling)
        let dim = decoder.dim
        var rng = Int8TestRandom(seed: 12)
        let processed = rng.normal(side * side * dim), hyper = rng.uniform(3 * dim / 8)
        try int8.withContext { context in
            let rows = processed.withUnsafeBufferPointer {
                QuantizedRows(quantizing: $0.baseAddress!, plus: nil, rows: side * side, cols: dim, isa: context.isa,
                              pool: context.pool)
            }
            let fresh = try int8.upscaledMasks(processed, norm: decoder.upscaleNorm, hyper: hyper, count: 3, side: side,
                                               context: context)
            let reused = try int8.upscaledMasks(processed, quantized: rows, norm: decoder.upscaleNorm, hyper: hyper,
                                                count: 3, side: side, context: context)
            XCTAssertEqual(reused.map(\.bitPattern), fresh.map(\.bitPattern))
            // A mismatched quantization (other rows) is ignored, not read.
            let short = QuantizedRows(uninitializedRows: side * side - 1, cols: dim)
            let ignored = try int8.upscaledMasks(processed, quantized: short, norm: decoder.upscaleNorm, hyper: hyper,
                                                 count: 3, side: side, context: context)
            XCTAssertEqual(ignored.map(\.bitPattern), fresh.map(\.bitPattern))
        }
    }

    /// Quantizing `a + b` once gives samq_quantize_rows' bytes, and its packed
    /// form the payload `PackedInt8Matrix(packingRows:)` makes from the f32
    /// sum; a layer on it gives the layer's output on the f32 rows, bit for bit.
    func testQuantizedRowsMatchTheQuantizer() throws {
        var rng = Int8TestRandom(seed: 5)
        let context = Int8Context()
        for (rows, cols) in [(1, 8), (37, 44), (70, 129), (100, 256)] {
            let a = rng.normal(rows * cols), b = rng.uniform(rows * cols, scale: 3)
            let sum = Tensor.add(a, b)
            for plus in [false, true] {
                let source = plus ? sum : a
                let q = a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        QuantizedRows(quantizing: ap.baseAddress!, plus: plus ? bp.baseAddress! : nil, rows: rows,
                                      cols: cols, isa: context.isa, pool: context.pool)
                    }
                }
                let kp = roundUp(cols, 8)
                var expected = [Int8](repeating: 0, count: rows * kp), scales = [Float](repeating: 0, count: rows)
                samq_quantize_rows(SAMQ_ISA_SCALAR, source, rows, cols, cols, &expected, kp, &scales)
                XCTAssertEqual(Array(UnsafeBufferPointer(start: q.values, count: rows * kp)), expected)
                XCTAssertEqual(Array(UnsafeBufferPointer(start: q.scales, count: rows)).map(\.bitPattern),
                               scales.map(\.bitPattern))
                // As activations of a layer.
                let layer = try QuantizedLinear(weight: try PackedInt8Matrix(quantizing: rng.uniform(24 * cols), n: 24,
                                                                               k: cols, name: "w"),
                                                bias: rng.uniform(24), context: context)
                XCTAssertEqual(try layer(q).map(\.bitPattern), try layer(source).map(\.bitPattern))
            }
        }
    }

    /// The int8 image→token attention on image rows quantized beforehand
    /// (its scores made chunk by chunk inside the tail loop) gives the bits
    /// of the f32-rows entry point (scores from one whole-tensor GEMM): new
    /// keys, and the `keys + PE` and `keys` rows it quantizes for the next
    /// attention. With bf16 and f32 products.
    func testChunkedImageToTokenScoresMatchTheWholeProduct() throws {
        let (decoder, side) = try tinyDecoder()
        let int8 = try XCTUnwrap(decoder.int8)
        let layer = decoder.transformer.layers[decoder.transformer.layers.count - 1]
        let attention = layer.crossImageToToken
        try XCTSkipUnless(attention.heads == 8, "needs the 8-head int8 path")
        let dim = decoder.dim, pixels = side * side, tokenCount = 7
        var rng = Int8TestRandom(seed: 23)
        let keys = rng.normal(pixels * dim), pe = rng.uniform(pixels * dim, scale: 2)
        let tokens = rng.normal(tokenCount * dim), tokensWithPE = Tensor.add(tokens, rng.uniform(tokenCount * dim))
        let keysWithPE = Tensor.add(keys, pe)
        for products in [AttentionProductPrecision.bf16, .f32] where products == .f32 || int8.attentionProducts == .bf16 {
            let context = Int8Context(isa: try KernelISA.resolve(), attentionProducts: products)
            var whole = keys, chunked = keys
            let expected = try attention.accumulateImageToToken(image: .raw(keysWithPE), tokensWithPE: tokensWithPE,
                                                                tokens: tokens, into: &whole, norm: layer.norm4,
                                                                quantizingWith: pe, quantizingPlain: true,
                                                                int8: context)
            let rows = QuantizedImageRows.keysWithPE(keys, pe, width: dim, context: context)
            let actual = try attention.accumulateImageToToken(quantizedImage: rows, projected: false,
                                                              tokensWithPE: tokensWithPE, tokens: tokens,
                                                              into: &chunked, norm: layer.norm4, quantizingWith: pe,
                                                              quantizingPlain: true, int8: context)
            XCTAssertEqual(chunked.map(\.bitPattern), whole.map(\.bitPattern), "\(products)")
            let e = try XCTUnwrap(expected), a = try XCTUnwrap(actual)
            for (x, y) in [(e.withPE, a.withPE), (try XCTUnwrap(e.plain), try XCTUnwrap(a.plain))] {
                XCTAssertEqual(Array(UnsafeBufferPointer(start: x.values, count: pixels * x.paddedK)),
                               Array(UnsafeBufferPointer(start: y.values, count: pixels * y.paddedK)))
                XCTAssertEqual(Array(UnsafeBufferPointer(start: x.scales, count: pixels)).map(\.bitPattern),
                               Array(UnsafeBufferPointer(start: y.scales, count: pixels)).map(\.bitPattern))
            }
        }
    }

    /// The one-vector dense embedding adds exactly like the materialized grid.
    func testBroadcastDenseEmbeddingAddsLikeTheGrid() {
        var rng = Int8TestRandom(seed: 9)
        let c = 24, cells = 1500   // several row chunks, so the pooled split is exercised
        let image = rng.normal(cells * c), vector = rng.uniform(c)
        let dense = DenseEmbedding.broadcast(vector)
        XCTAssertEqual(dense.added(to: image), Tensor.add(image, dense.materialized(cells: cells)))
        let grid = DenseEmbedding.grid(rng.uniform(cells * c))
        XCTAssertEqual(grid.added(to: image), Tensor.add(image, grid.materialized(cells: cells)))
        let pool = ThreadPool(threads: 2)
        XCTAssertEqual(dense.added(to: image, pool: pool), dense.added(to: image))
        XCTAssertEqual(grid.added(to: image, pool: pool), grid.added(to: image))
        XCTAssertNotEqual(dense, .broadcast(vector.map { $0 + 1 }))
    }

    /// f16 weights kept as bits give the f32 product with the widened matrix.
    func testHalfWeightLinearMatchesWidenedFloatWeights() {
        var rng = Int8TestRandom(seed: 3)
        for (m, k, n) in [(1, 256, 32), (7, 256, 2048), (7, 2048, 256), (9, 13, 17), (3, 0, 5)] {
            let x = rng.normal(m * k)
            let bits = rng.uniform(n * k).map { HalfPrecision.bits(from: $0) }
            let widened = bits.map { HalfPrecision.float(fromBits: $0) }
            let bias = rng.uniform(n)
            let half = MatMul.linear(x, rows: m, inFeatures: k, halfWeight: bits, outFeatures: n, bias: bias,
                                     activation: .relu)
            let full = MatMul.linear(x, rows: m, inFeatures: k, weight: widened, outFeatures: n, bias: bias,
                                     activation: .relu)
            XCTAssertEqual(half.count, full.count)
            for (a, b) in zip(half, full) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b))) }
            var acc = rng.uniform(m * n), accFull = acc
            MatMul.linearAccumulate(x, rows: m, inFeatures: k, halfWeight: bits, outFeatures: n, bias: bias, into: &acc)
            MatMul.linearAccumulate(x, rows: m, inFeatures: k, weight: widened, outFeatures: n, bias: bias, into: &accFull)
            for (a, b) in zip(acc, accFull) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b))) }
        }
    }
}
