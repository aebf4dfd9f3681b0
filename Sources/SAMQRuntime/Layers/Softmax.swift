/// Row softmax with a vectorized exp, for the attention score rows (the
/// largest elementwise workload: ~830 M exponentials per vit_b encode).
enum Softmax {
    typealias V = SIMD8<Float>

    /// Adding 1.5·2²³ rounds a float to the nearest integer (ties to even) and
    /// leaves that integer in the low mantissa bits: no float→int conversion,
    /// which Swift's generic SIMD code makes slow.
    static let roundingMagic: Float = 12_582_912
    static let roundingMagicBits: UInt32 = 0x4B40_0000

    /// e^x for x ≤ 0 (softmax inputs after max subtraction). Cody–Waite range
    /// reduction and a degree-6 polynomial: relative error < 4e-7, the class of
    /// PyTorch's vectorized (Sleef) expf. Inputs are clamped at −87.3, so
    /// e^x for smaller x is ≈1.2e-38 instead of 0 (no effect on a softmax).
    @inline(__always)
    static func exp(_ x: V) -> V {
        var clamped = x
        clamped.replace(with: -87.3, where: x .< -87.3)
        let t = clamped * 1.44269504088896341 + roundingMagic
        let n = t - roundingMagic
        var r = clamped - n * 0.693145751953125       // ln2 high part (exact in float)
        r = r - n * 1.428606765330187045e-06           // ln2 low part
        // e^r on [-ln2/2, ln2/2], Taylor coefficients 1/k!.
        var p = V(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // 2^n through the exponent bits (−126 ≤ n ≤ 0 here).
        let integer = unsafeBitCast(t, to: SIMD8<UInt32>.self) &- roundingMagicBits
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: V.self)
        return p * scale
    }

    /// The same operations on one value, so results are identical to a lane of `exp(_: V)`.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let clamped = max(x, -87.3)
        let t = clamped * 1.44269504088896341 + roundingMagic
        let n = t - roundingMagic
        var r = clamped - n * 0.693145751953125
        r = r - n * 1.428606765330187045e-06
        var p: Float = 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let integer = t.bitPattern &- roundingMagicBits
        return p * Float(bitPattern: (integer &+ 127) &<< 23)
    }

    /// Softmax of `count` contiguous values in place: max, exp(x − max), sum, scale.
    static func apply(_ p: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        #if DEBUG
        // Unoptimized builds run generic SIMD code very slowly: use the scalar
        // form of the same exp (results agree to rounding of the sum).
        var m = p[0]
        for i in 1..<count { m = max(m, p[i]) }
        var sum: Float = 0
        for i in 0..<count { let e = exp(p[i] - m); p[i] = e; sum += e }
        let inverse = 1 / sum
        for i in 0..<count { p[i] *= inverse }
        #else
        let vectorEnd = count & ~7
        var m = -Float.infinity
        if vectorEnd > 0 {
            var mv = V(repeating: -.infinity)
            var i = 0
            while i < vectorEnd {
                let v = load(p + i)
                mv.replace(with: v, where: v .> mv)   // inlines, unlike the generic pointwiseMax
                i += 8
            }
            m = mv.max()
        }
        for i in vectorEnd..<count { m = max(m, p[i]) }
        var sumV = V()
        var i = 0
        while i < vectorEnd {
            let e = exp(load(p + i) - m)
            store(e, p + i)
            sumV += e
            i += 8
        }
        var sum = sumV.sum()
        for j in vectorEnd..<count {
            let e = exp(p[j] - m)
            p[j] = e
            sum += e
        }
        let inverse = 1 / sum
        i = 0
        while i < vectorEnd { store(load(p + i) * inverse, p + i); i += 8 }
        for j in vectorEnd..<count { p[j] *= inverse }
        #endif
    }

    @inline(__always) private static func load(_ p: UnsafeMutablePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }
    @inline(__always) private static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }
}
