/// Softmax of a score row fused with its int8 quantization for P·V.
///
/// Scores arrive in base-2 units (the attention folds log2(e) into the logit
/// scale and the rel-pos tables), so softmax is 2^(s − max) / Σ.
/// After subtracting the row maximum every e lies in (0, 1] and the maximum
/// is exactly 1, so the quantizer's scale is known in advance. P is never
/// negative, so instead of the symmetric code (127 levels) it uses all 255:
/// q = rint(254·e) − 127 ∈ [−127, 127] (offset code, zero point −127). The
/// attention adds the offset back exactly with V's packed column sums
/// (Σ_j (q_j + 127)·v_j = acc + 127·colsum). The normalisation 1/Σe folds
/// into the row scale 1/(254·Σe). One read of the scores, one byte written
/// per score. (Measured on a 4096-key global head: cosine error of P·V
/// halves against the 127-level code.)
enum SoftmaxQuantizer {
    typealias F16 = SIMD16<Float>

    /// 2^x for x ≤ 0 with a degree-3 minimax polynomial on the fraction
    /// (relative error < 8e-4, 20× below the int8 step of P). Inputs below
    /// −126, and NaN, give 0. Half the cost of the degree-6 version, and the
    /// exponential is the largest elementwise cost of a vit_b encode.
    @inline(__always)
    static func exp2Coarse(_ x: F16) -> F16 {
        var y = x
        y.replace(with: -126, where: .!(x .>= -126))
        let t = y + Int8Quantization.roundingShift
        let n = unsafeBitCast(t, to: SIMD16<Int32>.self) &- Int8Quantization.roundingShiftBits
        let f = y - (t - Int8Quantization.roundingShift)
        var p = F16(repeating: 0.0555041086648216)
        p = p * f + 0.2402264923172690
        p = p * f + 0.6931471805599453
        p = p * f + 1
        var e = p * unsafeBitCast((n &+ 127) &<< 23, to: F16.self)
        e.replace(with: 0, where: .!(x .>= -126))
        return e
    }

    /// 2^x for x ≤ 0, degree-6 Taylor on |f| ≤ 1/2 (~2e-7 relative), for the
    /// f32 P·V path.
    @inline(__always)
    static func exp2Precise(_ x: F16) -> F16 {
        var y = x
        y.replace(with: -126, where: .!(x .>= -126))
        let t = y + Int8Quantization.roundingShift
        let n = unsafeBitCast(t, to: SIMD16<Int32>.self) &- Int8Quantization.roundingShiftBits
        let f = (y - (t - Int8Quantization.roundingShift)) * 0.6931471805599453   // in natural-log units
        var p = F16(repeating: 1.0 / 720)
        p = p * f + 1.0 / 120
        p = p * f + 1.0 / 24
        p = p * f + 1.0 / 6
        p = p * f + 0.5
        p = p * f + 1
        p = p * f + 1
        var e = p * unsafeBitCast((n &+ 127) &<< 23, to: F16.self)
        e.replace(with: 0, where: .!(x .>= -126))
        return e
    }

    @inline(__always)
    static func rowMax(_ scores: UnsafePointer<Float>, count: Int) -> Float {
        var i = 0
        var mv = F16(repeating: -.infinity)
        while i + 16 <= count {
            let x = UnsafeRawPointer(scores + i).loadUnaligned(as: F16.self)
            mv.replace(with: x, where: x .> mv)
            i += 16
        }
        var m = Int8Quantization.laneMax(mv)
        while i < count { if scores[i] > m { m = scores[i] }; i += 1 }
        return m
    }

    /// Writes rint(254·2^(s − max)) − 127 for `count` base-2 scores into `q`
    /// (bytes up to `paddedCount` zeroed) and returns the row scale 1/(254·Σ 2^(s − max)),
    /// or 0 for an empty or all-NaN row.
    static func apply(_ scores: UnsafePointer<Float>, count: Int, into q: UnsafeMutablePointer<Int8>,
                      paddedCount: Int) -> Float {
        let m = rowMax(scores, count: count)
        for j in count..<paddedCount { q[j] = 0 }
        guard m.isFinite else {
            // All −inf / NaN (or +inf): no meaningful distribution; output zeros.
            for j in 0..<count { q[j] = 0 }
            return 0
        }
        let vm = F16(repeating: m)
        var sumV = F16()
        var i = 0
        // The exponential written out (the compiler does not inline a
        // helper here, and a call per 16 lanes passes them through memory),
        // trimmed for 4-lane SSE code, where each op counts: a degree-2
        // polynomial (2^f within 2.3e-3 relative, below half a step of P
        // at every magnitude), the input clamped at −126 so no result needs
        // masking (2^−126 quantizes to 0 anyway), and q read straight from the
        // low byte of the rounding-shift bit pattern.
        let floor = F16(repeating: -126)
        while i + 16 <= count {
            var y = UnsafeRawPointer(scores + i).loadUnaligned(as: F16.self) - vm
            y.replace(with: floor, where: .!(y .>= floor))
            let t = y + Int8Quantization.roundingShift
            let f = y - (t - Int8Quantization.roundingShift)
            // Scaled by 1/1.0005 so 2^0 stays ≤ 1 (254·e must round to ≤ 254).
            var p = F16(repeating: 0.23770884)
            p = p * f + 0.70303866
            p = p * f + 1
            let bits = (unsafeBitCast(t, to: SIMD16<Int32>.self) &- (Int8Quantization.roundingShiftBits - 127)) &<< 23
            let e = p * unsafeBitCast(bits, to: F16.self)
            sumV += e
            let shifted = unsafeBitCast(e * 254 + Int8Quantization.roundingShift, to: SIMD16<Int32>.self)
            let qi = SIMD16<Int8>(truncatingIfNeeded: shifted &- 127)
            UnsafeMutableRawPointer(q + i).storeBytes(of: qi, as: SIMD16<Int8>.self)
            i += 16
        }
        var sum = sumV.sum()
        while i < count {
            let e = exp2Coarse(F16(repeating: scores[i] - m))[0]
            sum += e
            q[i] = Int8(truncatingIfNeeded: Int8Quantization.quantize(e * 254 - 127, 1))
            i += 1
        }
        return sum > 0 ? 1 / (254 * sum) : 0
    }

    /// Plain f32 softmax (base 2) in place, for the f32 P·V option.
    static func normalize(_ scores: UnsafeMutablePointer<Float>, count: Int) {
        let m = rowMax(scores, count: count)
        guard m.isFinite else { for j in 0..<count { scores[j] = 0 }; return }
        let vm = F16(repeating: m)
        var sumV = F16()
        var i = 0
        while i + 16 <= count {
            let e = exp2Precise(UnsafeRawPointer(scores + i).loadUnaligned(as: F16.self) - vm)
            sumV += e
            UnsafeMutableRawPointer(scores + i).storeBytes(of: e, as: F16.self)
            i += 16
        }
        var sum = sumV.sum()
        while i < count { let e = exp2Precise(F16(repeating: scores[i] - m))[0]; scores[i] = e; sum += e; i += 1 }
        let inv = F16(repeating: 1 / sum)
        i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(scores + i).loadUnaligned(as: F16.self) * inv
            UnsafeMutableRawPointer(scores + i).storeBytes(of: v, as: F16.self)
            i += 16
        }
        while i < count { scores[i] *= inv[0]; i += 1 }
    }
}
