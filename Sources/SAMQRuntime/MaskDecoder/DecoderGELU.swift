/// GELU for the decoder's output upscaling (`output_upscaling.2`), vectorized.
///
/// Same formula as the C kernels' fused GELU epilogue (which the second
/// upscaling layer already uses): 0.5·y·(1 + erf(y/√2)) with erf by
/// Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7) and the softmax's exp, so the
/// two GELUs of the upscaling path agree, and both are within 2e-7·max(1,|y|)
/// of exact-erf GELU.
enum DecoderGELU {
    typealias V = SIMD8<Float>
    static let p: Float = 0.3275911
    static let a1: Float = 0.254829592, a2: Float = -0.284496736, a3: Float = 1.421413741
    static let a4: Float = -1.453152027, a5: Float = 1.061405429

    /// GELU of every value, split over the workers.
    static func applyInPlace(_ values: inout [Float]) {
        let count = values.count, chunk = 1 << 15
        values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            Parallel.forEach(tasks: (count + chunk - 1) / chunk) { t, _ in
                apply(base + t * chunk, count: min(chunk, count - t * chunk))
            }
        }
    }

    static func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        #if DEBUG
        // Unoptimized builds run generic SIMD code very slowly (see Softmax).
        for i in 0..<count { x[i] = gelu(x[i]) }
        #else
        let vectorEnd = count & ~7
        var i = 0
        while i < vectorEnd {
            let raw = UnsafeMutableRawPointer(x + i)
            raw.storeBytes(of: gelu(raw.loadUnaligned(as: V.self)), as: V.self)
            i += 8
        }
        for j in vectorEnd..<count { x[j] = gelu(x[j]) }
        #endif
    }

    @inline(__always)
    static func gelu(_ y: V) -> V {
        let z = y * 0.70710678118654752440
        var az = z
        az.replace(with: -z, where: z .< 0)
        let t = 1 / (1 + p * az)
        var poly = V(repeating: a5)
        poly = poly * t + a4
        poly = poly * t + a3
        poly = poly * t + a2
        poly = poly * t + a1
        poly = poly * t
        let erfc = poly * Softmax.exp(-(az * az))      // 1 − erf(|z|)
        var onePlusErf = 2 - erfc
        onePlusErf.replace(with: erfc, where: z .< 0)
        return 0.5 * y * onePlusErf
    }

    /// The same operations on one value.
    @inline(__always)
    static func gelu(_ y: Float) -> Float {
        let z = y * 0.70710678118654752440
        let az = abs(z)
        let t = 1 / (1 + p * az)
        var poly = a5
        poly = poly * t + a4
        poly = poly * t + a3
        poly = poly * t + a2
        poly = poly * t + a1
        poly = poly * t
        let erfc = poly * Softmax.exp(-(az * az))
        return 0.5 * y * (z < 0 ? erfc : 2 - erfc)
    }
}
