import Foundation
import XCTest
import SAMQFormat
@testable import SAMQRuntime

/// A `WeightProvider` over a few named tensors (config unused).
private final class DictionaryWeights: WeightProvider {
    let config = ModelConfig(
        variant: "custom",
        imageEncoder: .init(imgSize: 32, patchSize: 16, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, outChans: 16,
                            windowSize: 0, globalAttnIndexes: [0]),
        promptEncoder: .init(embedDim: 16, maskInChans: 4),
        maskDecoder: .init(transformerDim: 16, transformerMlpDim: 32, iouHeadHiddenDim: 16))
    let tensors: [String: (shape: [Int], values: [Float])]
    init(_ tensors: [String: (shape: [Int], values: [Float])]) { self.tensors = tensors }
    func floats(_ name: String) throws -> [Float] {
        guard let t = tensors[name] else { throw SAMRuntimeError.missingWeight(name: name) }
        return t.values
    }
    func shape(_ name: String) -> [Int]? { tensors[name]?.shape }
}

final class DepthwiseConv3x3Tests: XCTestCase {
    private struct Rng {
        var s: UInt64
        mutating func next() -> Float {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return Float(Int(s % 2_000_001) - 1_000_000) / 1_000_000
        }
    }

    /// PyTorch's depthwise conv (zero padding) and exact GELU, in double.
    private func reference(_ x: [Float], h: Int, w: Int, c: Int, weight: [Float], bias: [Float]?, stride: Int,
                           gelu: Bool) -> [Double] {
        let oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1
        var out = [Double](repeating: 0, count: oh * ow * c)
        for oy in 0..<oh {
            for ox in 0..<ow {
                for ch in 0..<c {
                    var s = Double(bias?[ch] ?? 0)
                    for ky in 0..<3 {
                        for kx in 0..<3 {
                            let iy = oy * stride + ky - 1, ix = ox * stride + kx - 1
                            guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                            s += Double(x[(iy * w + ix) * c + ch]) * Double(weight[ch * 9 + ky * 3 + kx])
                        }
                    }
                    if gelu { s = 0.5 * s * (1 + erf(s / 2.0.squareRoot())) }
                    out[(oy * ow + ox) * c + ch] = s
                }
            }
        }
        return out
    }

    func testMatchesPyTorchSemanticsForEveryISAAndThreadCount() throws {
        var rng = Rng(s: 0x1234_5678_9ABC_DEF1)
        let pools = [ThreadPool(threads: 1), ThreadPool(threads: 3)]
        // The last two are big enough (>= 3 tasks of 16 K outputs) to really split over 3 threads.
        XCTAssertEqual(DepthwiseConv3x3.rowsPerTask(outputRows: 40, outputsPerRow: 40 * 33, threads: 3), 14)
        XCTAssertEqual(DepthwiseConv3x3.rowsPerTask(outputRows: 40, outputsPerRow: 40 * 32, threads: 3), 14)
        XCTAssertEqual(DepthwiseConv3x3.rowsPerTask(outputRows: 7, outputsPerRow: 13 * 17, threads: 3), 7)
        for (h, w, c, stride) in [(7, 13, 17, 1), (13, 7, 40, 2), (1, 1, 3, 2), (2, 9, 64, 1), (40, 40, 33, 1), (80, 80, 32, 2)] {
            let x = (0..<h * w * c).map { _ in rng.next() * 2 }
            let weight = (0..<c * 9).map { _ in rng.next() }
            let bias = (0..<c).map { _ in rng.next() }
            for useBias in [false, true] {
                let conv = try DepthwiseConv3x3(weight: weight, bias: useBias ? bias : nil, channels: c)
                for gelu in [false, true] {
                    let ref = reference(x, h: h, w: w, c: c, weight: weight, bias: useBias ? bias : nil,
                                        stride: stride, gelu: gelu)
                    let first = try conv(x, height: h, width: w, stride: stride, gelu: gelu, isa: .scalar, pool: pools[0])
                    XCTAssertEqual(first.count, ref.count)
                    let worst = zip(first, ref).map { abs(Double($0) - $1) }.max() ?? 0
                    XCTAssertLessThan(worst, 1e-5, "\(h)x\(w)x\(c) s\(stride) gelu=\(gelu)")
                    for isa in KernelISA.supported {
                        for pool in pools {
                            let y = try conv(x, height: h, width: w, stride: stride, gelu: gelu, isa: isa, pool: pool)
                            XCTAssertEqual(y.map(\.bitPattern), first.map(\.bitPattern),
                                           "\(isa) on \(pool.threads) threads, \(h)x\(w)x\(c) s\(stride)")
                        }
                    }
                }
            }
        }
    }

    func testLoadsPyTorchShapedWeights() throws {
        let c = 5
        let weight = (0..<c * 9).map { Float($0) * 0.01 }, bias = (0..<c).map { Float($0) }
        let provider = DictionaryWeights(["dw.weight": ([c, 1, 3, 3], weight), "dw.bias": ([c], bias)])
        let loaded = try DepthwiseConv3x3(weights: provider, prefix: "dw", channels: c)
        let direct = try DepthwiseConv3x3(weight: weight, bias: bias, channels: c)
        let x = (0..<4 * 4 * c).map { Float($0 % 7) - 3 }
        XCTAssertEqual(try loaded(x, height: 4, width: 4), try direct(x, height: 4, width: 4))
        XCTAssertThrowsError(try DepthwiseConv3x3(weights: provider, prefix: "dw", channels: 4))
        XCTAssertThrowsError(try DepthwiseConv3x3(weights: provider, prefix: "missing", channels: c))
    }

    func testBadInputsAreErrors() throws {
        let conv = try DepthwiseConv3x3(weight: [Float](repeating: 1, count: 18), bias: nil, channels: 2)
        XCTAssertEqual(try conv([], height: 0, width: 5), [], "an empty image gives an empty output")
        XCTAssertEqual(DepthwiseConv3x3.outputSize(7, stride: 2), 4)
        XCTAssertThrowsError(try conv([Float](repeating: 0, count: 7), height: 2, width: 2)) { error in
            guard case SAMRuntimeError.inputShapeMismatch = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try conv([Float](repeating: 0, count: 8), height: 2, width: 2, stride: 3)) { error in
            guard case SAMRuntimeError.invalidConfig = error else { return XCTFail("\(error)") }
        }
        for isa in KernelISA.all where !isa.isSupported {
            XCTAssertThrowsError(try conv([Float](repeating: 0, count: 8), height: 2, width: 2, isa: isa))
        }
        XCTAssertThrowsError(try DepthwiseConv3x3(weight: [Float](repeating: 1, count: 17), bias: nil, channels: 2))
        XCTAssertThrowsError(try DepthwiseConv3x3(weight: [Float](repeating: 1, count: 18), bias: [1], channels: 2))
        XCTAssertThrowsError(try DepthwiseConv3x3(weight: [], bias: nil, channels: 0))
        // The pointer API refuses an output that overlaps its input instead of corrupting it.
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 64)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: 64)
        XCTAssertThrowsError(try conv.forward(input: buffer, height: 4, width: 4, stride: 1, gelu: false,
                                              output: buffer + 8, isa: .scalar, pool: ThreadPool(threads: 1)))
    }
}
