import CKernels
import Foundation
import XCTest

/// One depthwise 3×3 problem: a channels-last image, PyTorch-layout weights
/// `[C][3][3]` and their tap-major packing `[9][C]`.
final class DepthwiseCase {
    let H, W, C, stride, Ho, Wo: Int
    let x: Buf<Float>, torchWeight: Buf<Float>, packed: Buf<Float>, bias: Buf<Float>
    var outputCount: Int { Ho * Wo * C }

    init(H: Int, W: Int, C: Int, stride: Int, rng: inout XorShift) {
        self.H = H; self.W = W; self.C = C; self.stride = stride
        Ho = samq_dw_out_size(H, stride); Wo = samq_dw_out_size(W, stride)
        x = Buf(H * W * C, 0)
        for i in 0 ..< x.count { x[i] = rng.f() * 2 }
        torchWeight = Buf(9 * C, 0)
        for i in 0 ..< torchWeight.count { torchWeight[i] = rng.f() }
        bias = Buf(C, 0)
        for i in 0 ..< C { bias[i] = rng.f() }
        packed = Buf(9 * C, 0)
        samq_dwconv3x3_pack(torchWeight.p, C, packed.p)
    }

    func args(output: UnsafeMutablePointer<Float>, bias useBias: Bool, gelu: Bool) -> samq_dwconv3x3_args {
        var a = samq_dwconv3x3_args()
        a.H = H; a.W = W; a.C = C; a.stride = stride
        a.x = UnsafePointer(x.p); a.w = UnsafePointer(packed.p)
        a.bias = useBias ? UnsafePointer(bias.p) : nil
        a.y = output
        a.flags = gelu ? UInt32(SAMQ_DW_GELU) : 0
        a.y_begin = 0; a.y_end = Ho
        return a
    }

    /// Output bits plus one sentinel past the end (which must survive).
    func run(_ isa: samq_isa, bias: Bool, gelu: Bool) -> [UInt32] {
        let y = Buf<Float>(outputCount + 1, -12345.5)
        var a = args(output: y.p, bias: bias, gelu: gelu)
        XCTAssertEqual(samq_dwconv3x3(isa, &a), 0)
        return y.array.map(\.bitPattern)
    }

    /// PyTorch semantics in double (zero padding): pre-activation sums and
    /// the sum of absolute terms (the scale of the rounding error).
    func reference(bias useBias: Bool) -> (sum: [Double], magnitude: [Double]) {
        var sum = [Double](repeating: 0, count: outputCount), mag = sum
        for oy in 0 ..< Ho {
            for ox in 0 ..< Wo {
                for c in 0 ..< C {
                    var s = useBias ? Double(bias[c]) : 0, g = abs(s)
                    for ky in 0 ..< 3 {
                        for kx in 0 ..< 3 {
                            let iy = oy * stride + ky - 1, ix = ox * stride + kx - 1
                            guard iy >= 0, iy < H, ix >= 0, ix < W else { continue }
                            let p = Double(x[(iy * W + ix) * C + c]) * Double(torchWeight[c * 9 + ky * 3 + kx])
                            s += p; g += abs(p)
                        }
                    }
                    sum[(oy * Wo + ox) * C + c] = s
                    mag[(oy * Wo + ox) * C + c] = g
                }
            }
        }
        return (sum, mag)
    }
}

final class DepthwiseKernelTests: XCTestCase {
    func testPackIsTapMajor() {
        let w = Buf<Float>(27, 0), p = Buf<Float>(27, 0)
        for i in 0 ..< 27 { w[i] = Float(i) }
        samq_dwconv3x3_pack(w.p, 3, p.p)
        for c in 0 ..< 3 { for t in 0 ..< 9 { XCTAssertEqual(p[t * 3 + c], w[c * 9 + t]) } }
    }

    func testOutputSize() {
        XCTAssertEqual(samq_dw_out_size(0, 1), 0)
        XCTAssertEqual(samq_dw_out_size(1, 2), 1)
        XCTAssertEqual(samq_dw_out_size(7, 2), 4)
        XCTAssertEqual(samq_dw_out_size(8, 2), 4)
        XCTAssertEqual(samq_dw_out_size(13, 1), 13)
    }

    /// Scalar against the double formula; every SIMD ISA identical to scalar,
    /// on odd channel counts (vector tails), 1-pixel and border-only images, and stride 2.
    func testScalarMatchesFormulaAndSIMDIsBitExact() {
        var rng = XorShift()
        for C in [1, 3, 17, 65, 130] {
            for H in [0, 1, 2, 7, 13] {
                for W in [1, 2, 7, 13] {
                    for stride in [1, 2] {
                        let d = DepthwiseCase(H: H, W: W, C: C, stride: stride, rng: &rng)
                        for useBias in [false, true] {
                            let (sum, mag) = d.reference(bias: useBias)
                            for gelu in [false, true] {
                                let ref = d.run(SAMQ_ISA_SCALAR, bias: useBias, gelu: gelu)
                                XCTAssertEqual(ref.last, Float(-12345.5).bitPattern, "sentinel")
                                var ok = true
                                for i in 0 ..< d.outputCount {
                                    var y = sum[i]
                                    if gelu { y = 0.5 * y * (1 + erf(y / 2.0.squareRoot())) }
                                    if !(abs(Double(Float(bitPattern: ref[i])) - y) <= 1e-6 * (mag[i] + 1)) { ok = false }
                                }
                                let shape = "H=\(H) W=\(W) C=\(C) s=\(stride) bias=\(useBias) gelu=\(gelu)"
                                XCTAssertTrue(ok, "scalar vs formula \(shape)")
                                for isa in simdISAs() {
                                    XCTAssertEqual(d.run(isa, bias: useBias, gelu: gelu), ref, "\(isaName(isa)) \(shape)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Row ranges run concurrently (as the Swift pool does) compose to the
    /// single-call bits.
    func testConcurrentRowRangesComposeToOneCall() {
        var rng = XorShift()
        for (H, W, C, stride) in [(13, 7, 65, 1), (13, 13, 130, 2), (9, 20, 48, 1)] {
            let d = DepthwiseCase(H: H, W: W, C: C, stride: stride, rng: &rng)
            for isa in [SAMQ_ISA_SCALAR] + simdISAs() {
                let full = d.run(isa, bias: true, gelu: true)
                let part = Buf<Float>(d.outputCount + 1, -12345.5)
                let template = d.args(output: part.p, bias: true, gelu: true), rows = d.Ho
                DispatchQueue.concurrentPerform(iterations: rows) { row in
                    var b = template
                    b.y_begin = row; b.y_end = row + 1
                    precondition(samq_dwconv3x3(isa, &b) == 0)
                }
                XCTAssertEqual(part.array.map(\.bitPattern), full, "\(isaName(isa)) \(H)x\(W)x\(C) s\(stride)")
            }
        }
    }

    func testInvalidArgumentsRejected() {
        var rng = XorShift()
        let d = DepthwiseCase(H: 5, W: 6, C: 8, stride: 1, rng: &rng)
        let y = Buf<Float>(d.outputCount, 0)
        var a = d.args(output: y.p, bias: true, gelu: false)
        XCTAssertEqual(samq_dwconv3x3(SAMQ_ISA_SCALAR, &a), 0)
        var b = a; b.stride = 3
        XCTAssertEqual(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b), -1, "stride 3")
        b = a; b.y_end = d.Ho + 1
        XCTAssertEqual(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b), -1, "rows past the output")
        b = a; b.flags = 8
        XCTAssertEqual(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b), -1, "unknown flag")
        b = a; b.x = nil
        XCTAssertEqual(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b), -1, "NULL input")
        b = a; b.y = d.x.p + 5
        XCTAssertEqual(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b), -1, "output overlapping the input")
        b = a; b.y_begin = 3; b.y_end = 3; b.x = nil; b.y = nil
        XCTAssertEqual(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b), 0, "empty row range is a no-op")
        b = a; b.C = 0
        XCTAssertEqual(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b), 0, "no channels is a no-op")
        for isa in allISAs() where samq_isa_supported(isa) == 0 {
            XCTAssertEqual(samq_dwconv3x3(isa, &a), -1, "unsupported \(isaName(isa)) must be refused")
        }
    }
}
