import XCTest
@testable import SAMQRuntime

/// The one matmul entry point against a Double reference, for both B layouts,
/// every epilogue, odd sizes and strided operands; and thread-count independence.
final class MatMulTests: XCTestCase {
    private struct Case { let m, n, k: Int; let layout: MatMul.BLayout; let activation: MatMul.Activation; let accumulate: Bool }

    private func random(_ count: Int, seed: inout UInt64) -> [Float] {
        (0..<count).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2000) / 1000 - 1
        }
    }

    func testMatchesDoubleReference() {
        var seed: UInt64 = 7
        let cases = [
            Case(m: 1, n: 1, k: 1, layout: .nk, activation: .none, accumulate: false),
            Case(m: 7, n: 13, k: 29, layout: .nk, activation: .gelu, accumulate: false),
            Case(m: 70, n: 45, k: 67, layout: .nk, activation: .none, accumulate: true),
            Case(m: 5, n: 300, k: 64, layout: .nk, activation: .relu, accumulate: false),
            Case(m: 33, n: 17, k: 50, layout: .kn, activation: .none, accumulate: false),
            Case(m: 130, n: 64, k: 196, layout: .kn, activation: .none, accumulate: true),
            Case(m: 9, n: 3, k: 4096, layout: .kn, activation: .gelu, accumulate: false),
        ]
        for c in cases {
            let lda = c.k + 3, ldc = c.n + 2
            let ldb = (c.layout == .nk ? c.k : c.n) + 5
            let a = random(c.m * lda, seed: &seed)
            let b = random((c.layout == .nk ? c.n : c.k) * ldb, seed: &seed)
            let bias = random(c.n, seed: &seed)
            let initial = random(c.m * ldc, seed: &seed)
            var expected = initial
            for i in 0..<c.m {
                for j in 0..<c.n {
                    var s = 0.0
                    for p in 0..<c.k {
                        let bv = c.layout == .nk ? b[j * ldb + p] : b[p * ldb + j]
                        s += Double(a[i * lda + p]) * Double(bv)
                    }
                    var v = Float(s) + bias[j]
                    switch c.activation {
                    case .none: break
                    case .gelu: v = Activations.gelu(v)
                    case .relu: v = max(v, 0)
                    }
                    expected[i * ldc + j] = c.accumulate ? initial[i * ldc + j] + v : v
                }
            }
            for threads in [1, 2] {
                ComputeThreads.count = threads
                var out = initial
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        bias.withUnsafeBufferPointer { biasp in
                            out.withUnsafeMutableBufferPointer { op in
                                MatMul.f32(m: c.m, n: c.n, k: c.k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!,
                                           ldb: ldb, layout: c.layout, c: op.baseAddress!, ldc: ldc,
                                           bias: biasp.baseAddress!, activation: c.activation,
                                           accumulate: c.accumulate)
                            }
                        }
                    }
                }
                let worst = zip(out, expected).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-4 * Float(max(1, c.k / 64)), "\(c) threads \(threads)")
                // Padding columns of C are never written.
                for i in 0..<c.m {
                    for j in c.n..<ldc { XCTAssertEqual(out[i * ldc + j], initial[i * ldc + j]) }
                }
            }
        }
        ComputeThreads.count = ProcessInfo.processInfo.activeProcessorCount
    }

    /// The Swift fallback loops agree with the C kernels.
    func testSwiftFallbackAgrees() {
        var seed: UInt64 = 11
        for layout in [MatMul.BLayout.nk, .kn] {
            let m = 19, n = 37, k = 83
            let a = random(m * k, seed: &seed)
            let b = random(n * k, seed: &seed)
            var viaMatMul = [Float](repeating: 0, count: m * n), viaSwift = viaMatMul
            let ldb = layout == .nk ? k : n
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    viaMatMul.withUnsafeMutableBufferPointer { op in
                        MatMul.f32(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: ldb,
                                   layout: layout, c: op.baseAddress!, ldc: n)
                    }
                    viaSwift.withUnsafeMutableBufferPointer { op in
                        let e = Epilogue(bias: nil, activation: .none, accumulate: false)
                        if layout == .nk {
                            SwiftGEMM.nk(rows: 0..<m, cols: 0..<n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!,
                                         ldb: ldb, c: op.baseAddress!, ldc: n, epilogue: e)
                        } else {
                            SwiftGEMM.kn(rows: 0..<m, cols: 0..<n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!,
                                         ldb: ldb, c: op.baseAddress!, ldc: n, epilogue: e)
                        }
                    }
                }
            }
            XCTAssertLessThan(zip(viaMatMul, viaSwift).map { abs($0 - $1) }.max() ?? 1, 1e-4, "\(layout)")
        }
    }

    /// The encoder gives bit-identical embeddings for 1 and 2 threads.
    func testEncoderIndependentOfThreadCount() throws {
        guard let f = Fixtures.shared, let weights = try f.weights("tiny_a") else { throw XCTSkip("no tiny_a weights") }
        let files = f.entry("tiny_a")["files"] as? [String: Any] ?? [:]
        let input = try f.npy(files["input_tensor"] as? String ?? "")
        let encoder = try ImageEncoderViT(weights: weights)
        ComputeThreads.count = 1
        let one = try encoder.encode(input.values)
        ComputeThreads.count = 2
        let two = try encoder.encode(input.values)
        ComputeThreads.count = ProcessInfo.processInfo.activeProcessorCount
        XCTAssertEqual(one, two)
    }
}
