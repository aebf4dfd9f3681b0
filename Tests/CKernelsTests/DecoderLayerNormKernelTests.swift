import CKernels
import XCTest

/// `samq_decoder_layernorm`: the arithmetic of the Swift SIMD8 code it
/// replaced, bit for bit, on every ISA; GELU and the fused codes equal the
/// separate `samq_gelu_inplace` and `samq_quantize_rows` passes; odd widths
/// and row counts that are no multiple of the kernel's blocks.
final class DecoderLayerNormKernelTests: XCTestCase {
    /// The former `DecoderLayerNorm.normalizeRow` (widths that are multiples of 8).
    private func swiftReference(_ row: inout [Float], weight: [Float], bias: [Float], epsilon: Float) {
        typealias V = SIMD8<Float>
        let c = row.count
        func load(_ a: [Float], _ i: Int) -> V { V(a[i ..< i + 8]) }
        var sum = V()
        for i in stride(from: 0, to: c, by: 8) { sum += load(row, i) }
        let mean = sum.sum() / Float(c)
        var sq = V()
        for i in stride(from: 0, to: c, by: 8) {
            let d = load(row, i) - mean
            sq += d * d
        }
        let inverse = 1 / (sq.sum() / Float(c) + epsilon).squareRoot()
        for i in stride(from: 0, to: c, by: 8) {
            let y = (load(row, i) - mean) * inverse * load(weight, i) + load(bias, i)
            for l in 0 ..< 8 { row[i + l] = y[l] }
        }
    }

    func testMatchesTheSwiftCodeAndTheSeparatePasses() {
        var rng = XorShift()
        for (c, rows) in [(8, 1), (64, 37), (256, 5), (24, 17), (13, 3)] {
            let ldx = c + 5, ldq = roundUp(c, 8) + 3
            let x = (0 ..< rows * ldx).map { _ in rng.f() * 5 + 0.7 }
            let w = (0 ..< c).map { _ in rng.f() }, b = (0 ..< c).map { _ in rng.f() }
            // Expected: the Swift rows (or the scalar kernel for a width the Swift code never took), then GELU, then codes.
            var expected = x
            if c % 8 == 0 {
                for r in 0 ..< rows {
                    var row = Array(x[r * ldx ..< r * ldx + c])
                    swiftReference(&row, weight: w, bias: b, epsilon: 1e-6)
                    expected.replaceSubrange(r * ldx ..< r * ldx + c, with: row)
                }
            } else {
                XCTAssertEqual(samq_decoder_layernorm(SAMQ_ISA_SCALAR, &expected, rows, c, ldx, w, b, 1e-6, 0, nil, 0, nil), 0)
            }
            var geluExpected = expected
            for r in 0 ..< rows { geluExpected.withUnsafeMutableBufferPointer { samq_gelu_inplace(SAMQ_ISA_SCALAR, $0.baseAddress! + r * ldx, c) } }
            var codesExpected = [Int8](repeating: 0, count: rows * ldq), scalesExpected = [Float](repeating: 0, count: rows)
            samq_quantize_rows(SAMQ_ISA_SCALAR, geluExpected, rows, c, ldx, &codesExpected, ldq, &scalesExpected)
            for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                var plain = x
                XCTAssertEqual(samq_decoder_layernorm(isa, &plain, rows, c, ldx, w, b, 1e-6, 0, nil, 0, nil), 0)
                XCTAssertEqual(plain.map(\.bitPattern), expected.map(\.bitPattern), "\(isaName(isa)) C=\(c)")
                var fused = x
                var codes = [Int8](repeating: 0, count: rows * ldq), scales = [Float](repeating: 0, count: rows)
                XCTAssertEqual(samq_decoder_layernorm(isa, &fused, rows, c, ldx, w, b, 1e-6, SAMQ_DLN_GELU, &codes, ldq,
                                                      &scales), 0)
                XCTAssertEqual(fused.map(\.bitPattern), geluExpected.map(\.bitPattern), "\(isaName(isa)) GELU C=\(c)")
                for r in 0 ..< rows {   // bytes past roundUp(C, 8) are the caller's
                    let used = r * ldq ..< r * ldq + roundUp(c, 8)
                    XCTAssertEqual(Array(codes[used]), Array(codesExpected[used]), "\(isaName(isa)) codes C=\(c)")
                }
                XCTAssertEqual(scales.map(\.bitPattern), scalesExpected.map(\.bitPattern), "\(isaName(isa)) scales C=\(c)")
            }
        }
    }

    func testInvalidArgumentsRejected() {
        var x = [Float](repeating: 1, count: 64)
        let w = [Float](repeating: 1, count: 8), b = [Float](repeating: 0, count: 8)
        var q = [Int8](repeating: 0, count: 64), s = [Float](repeating: 0, count: 8)
        XCTAssertEqual(samq_decoder_layernorm(SAMQ_ISA_SCALAR, &x, 2, 8, 7, w, b, 1e-6, 0, nil, 0, nil), -1, "ldx < C")
        XCTAssertEqual(samq_decoder_layernorm(SAMQ_ISA_SCALAR, &x, 2, 8, 8, nil, b, 1e-6, 0, nil, 0, nil), -1, "no weight")
        XCTAssertEqual(samq_decoder_layernorm(SAMQ_ISA_SCALAR, &x, 2, 8, 8, w, b, 1e-6, 0, &q, 7, &s), -1, "ldq < C")
        XCTAssertEqual(samq_decoder_layernorm(SAMQ_ISA_SCALAR, &x, 2, 8, 8, w, b, 1e-6, 0, &q, 8, nil), -1, "no scales")
        XCTAssertEqual(samq_decoder_layernorm(SAMQ_ISA_SCALAR, &x, 2, 8, 8, w, b, 1e-6, 2, nil, 0, nil), -1, "unknown flag")
        XCTAssertEqual(samq_decoder_layernorm(SAMQ_ISA_SCALAR, nil, 0, 8, 8, w, b, 1e-6, 0, nil, 0, nil), 0, "no rows")
        XCTAssertEqual(x, [Float](repeating: 1, count: 64), "a rejected call writes nothing")
    }
}

/// `samq_bilinear_h` / `_v` / `_v_threshold`: every ISA gives the scalar
/// bits, and the two halves compose to `samq_bilinear_row`.
final class BilinearSplitKernelTests: XCTestCase {
    func testHalvesComposeToTheRowKernelOnEveryISA() {
        var rng = XorShift()
        let length = 29
        for n in [0, 1, 5, 8, 15, 16, 17, 40, 101] {
            let r0 = (0 ..< length).map { _ in rng.f() * 3 }, r1 = (0 ..< length).map { _ in rng.f() * 3 }
            let x0 = (0 ..< n).map { _ in Int32(rng.next() % UInt64(length)) }
            let x1 = (0 ..< n).map { _ in Int32(rng.next() % UInt64(length)) }
            let w1 = (0 ..< n).map { _ in Float(rng.next() % 1000) / 999 }, w0 = w1.map { 1 - $0 }
            var row = [Float](repeating: 0, count: n)
            samq_bilinear_row(r0, r1, 0.25, 0.75, x0.map { Int($0) }, x1.map { Int($0) }, w0, w1, &row, n)
            for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                var h0 = [Float](repeating: 0, count: n + 1), h1 = h0, v = h0
                var mask = [UInt8](repeating: 7, count: n + 1)
                samq_bilinear_h(isa, r0, x0, x1, w0, w1, &h0, n)
                samq_bilinear_h(isa, r1, x0, x1, w0, w1, &h1, n)
                samq_bilinear_v(isa, h0, h1, 0.25, 0.75, &v, n)
                samq_bilinear_v_threshold(isa, h0, h1, 0.25, 0.75, 0.1, &mask, n)
                XCTAssertEqual(v.prefix(n).map(\.bitPattern), row.map(\.bitPattern), "\(isaName(isa)) n=\(n)")
                XCTAssertEqual(Array(mask.prefix(n)), row.map { $0 > 0.1 ? 1 : 0 }, "\(isaName(isa)) n=\(n)")
                XCTAssertEqual([v[n], h0[n]], [0, 0], "wrote past n")
                XCTAssertEqual(mask[n], 7, "wrote past n")
            }
        }
    }
}
