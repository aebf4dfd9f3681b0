/// Vector helpers shared by the per-call packers and the softmax quantizer.
///
/// Rounding is `rint` (half to even) through the 1.5·2²³ shift, the same rule
/// as `samq_quantize_rows`, so attention operands and GEMM activations are
/// quantized alike.
///
/// Performance note (measured, Swift 6.3 -Ounchecked): the generic SIMD
/// conveniences `pointwiseMin/Max`, `.max()`, `.replacing(...)` with `.!` and
/// the float→int `SIMD16<Int32>(_:)` conversion compile to per-lane generic
/// calls (10–30 ns per element). Everything here therefore uses only the
/// mutating `replace(with:where:)` with plain comparisons, arithmetic, and the
/// shift trick's bit pattern for float→int — all of which vectorize.
enum Int8Quantization {
    typealias F16 = SIMD16<Float>

    static let roundingShift: Float = 12_582_912   // 1.5 · 2^23
    /// Bit pattern of `roundingShift`: (x + shift).bits − this = rint(x), |x| < 2^22.
    static let roundingShiftBits: Int32 = 0x4B40_0000

    /// rint(x) as int32 lanes, for |x| < 2^22.
    @inline(__always)
    static func roundToInt(_ x: F16) -> SIMD16<Int32> {
        unsafeBitCast(x + roundingShift, to: SIMD16<Int32>.self) &- roundingShiftBits
    }

    /// x·inv clamped to ±127, NaN → 0, rounded half to even; as int32 lanes.
    @inline(__always)
    static func quantize(_ x: F16, _ inv: F16) -> SIMD16<Int32> {
        var v = x * inv
        v.replace(with: 0, where: v .!= v)
        v.replace(with: -127, where: v .< -127)
        v.replace(with: 127, where: v .> 127)
        return roundToInt(v)
    }

    /// Scalar twin of `quantize` for tails and strided data.
    @inline(__always)
    static func quantize(_ x: Float, _ inv: Float) -> Int32 {
        var v = x * inv
        if v != v { v = 0 }
        v = v < -127 ? -127 : (v > 127 ? 127 : v)
        return Int32(bitPattern: (v + roundingShift).bitPattern) &- roundingShiftBits
    }

    /// |x| as bit patterns with non-finite lanes (inf, NaN) set to 0. For
    /// non-negative floats integer order is float order, so maxima can be
    /// taken on these with integer arithmetic.
    @inline(__always)
    static func finiteMagnitudeBits(_ x: SIMD16<Int32>) -> SIMD16<Int32> {
        let a = x & 0x7FFF_FFFF
        return a & ((a &- 0x7F80_0000) &>> 31)   // all ones where a < 0x7F80_0000
    }

    /// Lane-wise max of non-negative int32 lanes, branch- and select-free
    /// (`replace(with:where:)` on integer vectors compiles to a lane loop).
    @inline(__always)
    static func maxBits(_ a: SIMD16<Int32>, _ b: SIMD16<Int32>) -> SIMD16<Int32> {
        let d = b &- a
        return a &+ (d & ~(d &>> 31))
    }

    /// max |x| over the finite values of a contiguous run.
    @inline(__always)
    static func absMax(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var m = SIMD16<Int32>()
        var i = 0
        while i + 16 <= count {
            m = maxBits(m, finiteMagnitudeBits(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Int32>.self)))
            i += 16
        }
        var best: Int32 = 0
        for lane in 0..<16 where m[lane] > best { best = m[lane] }
        while i < count {
            let a = Int32(bitPattern: x[i].bitPattern & 0x7FFF_FFFF)
            if a < 0x7F80_0000 && a > best { best = a }
            i += 1
        }
        return Float(bitPattern: UInt32(best))
    }

    /// Largest lane (inputs are never NaN here: scores come from finite products).
    @inline(__always)
    static func laneMax(_ v: F16) -> Float {
        var m = v[0]
        for lane in 1..<16 where v[lane] > m { m = v[lane] }
        return m
    }

    /// The (scale, inverse) pair of `samq_quantize_rows` for a row maximum.
    @inline(__always)
    static func scales(absMax amax: Float) -> (scale: Float, inverse: Float) {
        amax >= 1e-30 ? (amax / 127, 127 / amax) : (0, 0)
    }
}
