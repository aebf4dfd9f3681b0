import CKernels

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

    /// Writes rint(254·2^(s − max)) − 127 for `count` base-2 scores of each
    /// of `rows` rows (`lds` apart) into `q` (rows `ldq` apart, bytes up to
    /// `paddedCount` zeroed) and each row's scale 1/(254·Σ 2^(s − max)), or 0
    /// for an empty or all-NaN row, into `scales`. The C kernel
    /// (`samq_softmax_q8_rows`) gives the same bytes on every ISA; in Swift
    /// this loop ran on 4-lane SSE code and took 16% of a vit_b encode.
    static func apply(rows: Int, scores: UnsafePointer<Float>, count: Int, lds: Int,
                      into q: UnsafeMutablePointer<Int8>, ldq: Int, paddedCount: Int,
                      scales: UnsafeMutablePointer<Float>, isa: KernelISA) {
        samq_softmax_q8_rows(isa.raw, scores, rows, count, lds, q, ldq, paddedCount, scales)
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
