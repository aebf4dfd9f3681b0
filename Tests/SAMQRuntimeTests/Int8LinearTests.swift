import XCTest
@testable import SAMQRuntime

/// `QuantizedLinear` against the f32 `x·Wᵀ + b` it approximates, and its
/// bit-exactness across thread counts and kernel families.
final class Int8LinearTests: XCTestCase {
    private func layer(n: Int, k: Int, bias: Bool, seed: UInt64, context: Int8Context) throws
        -> (QuantizedLinear, weight: [Float], bias: [Float]?) {
        var random = Int8TestRandom(seed: seed)
        let w = random.normal(n * k, std: 0.05)
        let b = bias ? random.uniform(n, scale: 0.5) : nil
        let matrix = try PackedInt8Matrix(quantizing: w, n: n, k: k, name: "test.weight")
        return (try QuantizedLinear(weight: matrix, bias: b, context: context), w, b)
    }

    func testMatchesFloatReferenceOnOddShapes() throws {
        let context = Int8Context(pool: ThreadPool(threads: 2))
        var seed: UInt64 = 1
        for rows in [1, 3, 197] {
            for k in [13, 768] {
                for n in [1, 17, 100] {
                    seed += 1
                    let (linear, w, b) = try layer(n: n, k: k, bias: true, seed: seed, context: context)
                    var random = Int8TestRandom(seed: seed + 1000)
                    let x = random.normal(rows * k)
                    let expected = Int8Metrics.linearReference(x, rows: rows, k: k, weight: w, n: n, bias: b)
                    let actual = try linear(x)
                    if rows * n >= 17 {
                        let error = Int8Metrics.relativeError(actual, reference: expected)
                        let cosine = Int8Metrics.cosine(actual, expected)
                        // Gaussian data: weights and activations each carry
                        // ~0.75% rms rounding noise (amax ≈ 3.3σ), ~1.06% together.
                        XCTAssertLessThanOrEqual(error, 1.5e-2, "rows \(rows) k \(k) n \(n)")
                        XCTAssertGreaterThanOrEqual(cosine, 0.9999, "rows \(rows) k \(k) n \(n)")
                    }
                    // Per element, against the dot product's natural scale
                    // ‖x_r‖·‖w_j‖/√k (one or three outputs make a relative
                    // norm meaningless): W8A8 error is ~0.02 of it.
                    for r in 0..<rows {
                        for j in 0..<n {
                            var xx = 0.0, ww = 0.0
                            for p in 0..<k {
                                xx += Double(x[r * k + p] * x[r * k + p]); ww += Double(w[j * k + p] * w[j * k + p])
                            }
                            let bound = 0.1 * (xx * ww / Double(k)).squareRoot()
                            XCTAssertLessThanOrEqual(abs(Double(actual[r * n + j] - expected[r * n + j])), bound,
                                                     "rows \(rows) k \(k) n \(n) at \(r),\(j)")
                        }
                    }
                }
            }
        }
    }

    func testFusedEpiloguesMatchUnfused() throws {
        let context = Int8Context(pool: ThreadPool(threads: 2))
        let (rows, k, n) = (37, 40, 48)
        let (linear, _, _) = try layer(n: n, k: k, bias: true, seed: 9, context: context)
        var random = Int8TestRandom(seed: 10)
        let x = random.normal(rows * k)
        let plain = try linear(x)
        let gelu = try linear(x, activation: .gelu)
        let relu = try linear(x, activation: .relu)
        for i in plain.indices {
            XCTAssertEqual(gelu[i], Activations.gelu(plain[i]), accuracy: 2e-6 * max(1, abs(plain[i])))
            XCTAssertEqual(relu[i], max(plain[i], 0))
        }
        let start = random.normal(rows * n)
        var residual = start
        try linear.accumulate(x, into: &residual)
        for i in plain.indices { XCTAssertEqual(residual[i], plain[i] + start[i]) }
    }

    func testIdenticalAcrossThreadCountsAndISAs() throws {
        var random = Int8TestRandom(seed: 77)
        let (rows, k, n) = (197, 72, 100)
        let w = random.normal(n * k, std: 0.1), b = random.uniform(n)
        let x = random.normal(rows * k)
        let matrix = try PackedInt8Matrix(quantizing: w, n: n, k: k, name: "t")
        var reference: [Float]?
        for isa in KernelISA.supported {
            for threads in [1, 2, 3] {
                let linear = try QuantizedLinear(weight: matrix, bias: b,
                                                 context: Int8Context(isa: isa, pool: ThreadPool(threads: threads)))
                // Big enough to be split into several tiles.
                XCTAssertGreaterThan(GemmPlan(m: rows, n: n, k: k, threads: threads).taskCount, threads > 1 ? 1 : 0)
                let y = try linear(x, activation: .gelu)
                if let reference {
                    XCTAssertEqual(y, reference, "isa \(isa) threads \(threads)")
                } else {
                    reference = y
                }
            }
        }
    }

    func testRejectsMismatchedShapes() throws {
        let context = Int8Context(pool: ThreadPool(threads: 1))
        let (linear, _, _) = try layer(n: 8, k: 5, bias: true, seed: 3, context: context)
        XCTAssertThrowsError(try linear([1, 2, 3]))
        var residual = [Float](repeating: 0, count: 7)
        XCTAssertThrowsError(try linear.accumulate([Float](repeating: 1, count: 5), into: &residual))
        let matrix = try PackedInt8Matrix(quantizing: [Float](repeating: 1, count: 40), n: 8, k: 5, name: "w")
        XCTAssertThrowsError(try QuantizedLinear(weight: matrix, bias: [0, 1], context: context))
        XCTAssertEqual(try linear([]), [])
    }
}
