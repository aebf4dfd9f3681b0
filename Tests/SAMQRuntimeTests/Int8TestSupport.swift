import XCTest
@testable import SAMQRuntime

/// Deterministic data and error metrics shared by the int8 tests.
struct Int8TestRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    /// Uniform in [-scale, scale).
    mutating func uniform(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    /// Roughly normal (sum of uniforms), for activation-like data.
    mutating func normal(_ count: Int, std: Float = 1) -> [Float] {
        let u = uniform(4 * count, scale: 1)
        return (0..<count).map { i in (u[4 * i] + u[4 * i + 1] + u[4 * i + 2] + u[4 * i + 3]) * std * 0.866 }
    }
}

enum Int8Metrics {
    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices {
            dot += Double(a[i]) * Double(b[i]); na += Double(a[i]) * Double(a[i]); nb += Double(b[i]) * Double(b[i])
        }
        return na == 0 || nb == 0 ? (na == nb ? 1 : 0) : dot / (na.squareRoot() * nb.squareRoot())
    }

    /// ‖a − ref‖ / ‖ref‖.
    static func relativeError(_ a: [Float], reference ref: [Float]) -> Double {
        var num = 0.0, den = 0.0
        for i in a.indices {
            let d = Double(a[i]) - Double(ref[i])
            num += d * d; den += Double(ref[i]) * Double(ref[i])
        }
        return den == 0 ? num.squareRoot() : (num / den).squareRoot()
    }

    /// y = x·Wᵀ + b in Double, W `[n][k]`.
    static func linearReference(_ x: [Float], rows: Int, k: Int, weight: [Float], n: Int, bias: [Float]?) -> [Float] {
        var out = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for j in 0..<n {
                var s = Double(bias?[j] ?? 0)
                for p in 0..<k { s += Double(x[r * k + p]) * Double(weight[j * k + p]) }
                out[r * n + j] = Float(s)
            }
        }
        return out
    }
}
