import XCTest
@testable import SAMQRuntime

/// Conv-as-GEMM helpers against direct f32 convolutions in Double.
final class Int8ConvTests: XCTestCase {
    private let context = Int8Context(pool: ThreadPool(threads: 2))

    private func assertClose(_ actual: [Float], _ expected: [Float], _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
        XCTAssertGreaterThanOrEqual(Int8Metrics.cosine(actual, expected), 0.9999, what, file: file, line: line)
        XCTAssertLessThanOrEqual(Int8Metrics.relativeError(actual, reference: expected), 1.5e-2, what, file: file, line: line)
    }

    /// PyTorch conv: weight `[out][in][k][k]`, input channels-last.
    private func convReference(_ x: [Float], height: Int, width: Int, cin: Int, weight: [Float], bias: [Float],
                               cout: Int, k: Int, stride: Int, padding: Int) -> [Float] {
        let oh = (height + 2 * padding - k) / stride + 1, ow = (width + 2 * padding - k) / stride + 1
        var out = [Float](repeating: 0, count: oh * ow * cout)
        for oy in 0..<oh {
            for ox in 0..<ow {
                for o in 0..<cout {
                    var s = Double(bias[o])
                    for c in 0..<cin {
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let iy = oy * stride + ky - padding, ix = ox * stride + kx - padding
                                guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
                                s += Double(x[(iy * width + ix) * cin + c]) * Double(weight[((o * cin + c) * k + ky) * k + kx])
                            }
                        }
                    }
                    out[(oy * ow + ox) * cout + o] = Float(s)
                }
            }
        }
        return out
    }

    func testConv3x3And1x1MatchReference() throws {
        var random = Int8TestRandom(seed: 21)
        for (k, stride, padding, cin, cout, h, w) in [(3, 1, 1, 24, 17, 5, 6), (1, 1, 0, 40, 20, 4, 3), (3, 2, 1, 8, 16, 7, 9)] {
            let weight = random.normal(cout * cin * k * k, std: 0.1), bias = random.uniform(cout)
            let x = random.normal(h * w * cin)
            var conv = try QuantizedConv2d(weight: try PackedInt8Matrix(quantizing: weight, n: cout, k: cin * k * k, name: "c"),
                                           bias: bias, inChannels: cin, kernel: k, stride: stride, padding: padding,
                                           context: context)
            conv.chunkRows = 7   // several im2col chunks, one partial
            let expected = convReference(x, height: h, width: w, cin: cin, weight: weight, bias: bias, cout: cout,
                                         k: k, stride: stride, padding: padding)
            assertClose(try conv(x, height: h, width: w), expected, "conv k\(k) s\(stride)")
        }
    }

    /// The tap-major weight and gather give the bits of the PyTorch-order
    /// im2col GEMM (same codes per row, same int32 sums), for whole outputs,
    /// row ranges and any task size.
    func testConvIsBitIdenticalToPyTorchOrderGEMM() throws {
        var random = Int8TestRandom(seed: 24)
        for (k, stride, padding, cin, cout, h, w) in [(3, 1, 1, 24, 17, 5, 6), (3, 2, 1, 8, 16, 7, 9), (3, 2, 1, 32, 64, 9, 12),
                                                        (2, 2, 0, 5, 3, 4, 7), (3, 1, 1, 1, 20, 1, 1)] {
            let weight = random.normal(cout * cin * k * k, std: 0.1), bias = random.uniform(cout)
            let x = random.normal(h * w * cin)
            let packed = try PackedInt8Matrix(quantizing: weight, n: cout, k: cin * k * k, name: "c")
            let oh = (h + 2 * padding - k) / stride + 1, ow = (w + 2 * padding - k) / stride + 1
            var columns = [Float](repeating: 0, count: oh * ow * cin * k * k)
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for c in 0..<cin {
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let iy = oy * stride + ky - padding, ix = ox * stride + kx - padding
                                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                columns[((oy * ow + ox) * cin + c) * k * k + ky * k + kx] = x[(iy * w + ix) * cin + c]
                            }
                        }
                    }
                }
            }
            let linear = try QuantizedLinear(weight: packed, bias: bias, context: context)
            for activation in [FusedActivation.none, .gelu] {
                let expected = try linear(columns, activation: activation)
                for tile in [0, 1, 5, 12] {
                    var conv = try QuantizedConv2d(weight: packed, bias: bias, inChannels: cin, kernel: k, stride: stride,
                                                   padding: padding, context: context)
                    conv.chunkRows = tile
                    XCTAssertEqual(try conv(x, height: h, width: w, activation: activation), expected, "k\(k) s\(stride) tile \(tile)")
                    // The last rows only, into a caller's buffer.
                    let rows = (oh / 2)..<oh
                    var part = [Float](repeating: .nan, count: rows.count * ow * cout)
                    try x.withUnsafeBufferPointer { src in
                        try part.withUnsafeMutableBufferPointer { dst in
                            try conv.forward(src.baseAddress!, height: h, width: w, outputRows: rows, into: dst.baseAddress!,
                                             activation: activation)
                        }
                    }
                    XCTAssertEqual(part, Array(expected[(rows.lowerBound * ow * cout)...]), "rows k\(k) s\(stride) tile \(tile)")
                }
            }
        }
    }

    func testPatchEmbedMatchesStridedConv() throws {
        var random = Int8TestRandom(seed: 22)
        let (cin, p, h, w, dim) = (3, 4, 12, 8, 20)
        let weight = random.normal(dim * cin * p * p, std: 0.1), bias = random.uniform(dim)
        let image = random.normal(cin * h * w)   // channels-first
        var embed = try QuantizedPatchEmbed(weight: try PackedInt8Matrix(quantizing: weight, n: dim, k: cin * p * p, name: "pe"),
                                            bias: bias, inChannels: cin, patchSize: p, context: context)
        embed.chunkRows = 4
        let channelsLast = Tensor.transpose(image, rows: cin, cols: h * w)
        let expected = convReference(channelsLast, height: h, width: w, cin: cin, weight: weight, bias: bias, cout: dim,
                                     k: p, stride: p, padding: 0)
        assertClose(try embed(image: image, height: h, width: w), expected, "patch embed")
        XCTAssertThrowsError(try embed(image: image, height: 10, width: 8))
    }

    func testConvTransposeMatchesDefinition() throws {
        var random = Int8TestRandom(seed: 23)
        let (cin, cout, h, w) = (24, 6, 3, 5)
        let weight = random.normal(cin * cout * 4, std: 0.1), bias = random.uniform(cout)   // [in][out][2][2]
        let x = random.normal(h * w * cin)
        let gemmOrder = PackedInt8Matrix.gemmOrder(weight, view: .convTranspose, shape: [cin, cout, 2, 2])
        let layer = try QuantizedConvTranspose2x2(weight: try PackedInt8Matrix(quantizing: gemmOrder, n: 4 * cout, k: cin, name: "ct"),
                                                  bias: bias, context: context)
        var expected = [Float](repeating: 0, count: 4 * h * w * cout)
        for y in 0..<h {
            for xi in 0..<w {
                for dy in 0..<2 {
                    for dx in 0..<2 {
                        for o in 0..<cout {
                            var s = Double(bias[o])
                            for c in 0..<cin {
                                s += Double(x[(y * w + xi) * cin + c]) * Double(weight[((c * cout + o) * 2 + dy) * 2 + dx])
                            }
                            expected[((2 * y + dy) * 2 * w + 2 * xi + dx) * cout + o] = Float(s)
                        }
                    }
                }
            }
        }
        assertClose(try layer(x, height: h, width: w), expected, "conv transpose")
        let gelu = try layer(x, height: h, width: w, activation: .gelu)
        let plain = try layer(x, height: h, width: w)
        for i in plain.indices { XCTAssertEqual(gelu[i], Activations.gelu(plain[i]), accuracy: 2e-6 * max(1, abs(plain[i]))) }
    }
}
