#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Pointwise activations with PyTorch's float32 semantics.
enum Activations {
    /// Exact GELU (`nn.GELU()` default, `approximate='none'`): x·½·(1 + erf(x/√2)),
    /// in float32 with libm's `erff` (< 1 ulp), the formula of torch's scalar kernel.
    @inline(__always)
    static func gelu(_ x: Float) -> Float {
        x * 0.5 * (1 + erff(x * 0.70710678118654752440))
    }

    static func geluInPlace(_ values: inout [Float]) {
        forEachChunk(&values) { p, n in for i in 0..<n { p[i] = gelu(p[i]) } }
    }

    static func reluInPlace(_ values: inout [Float]) {
        forEachChunk(&values) { p, n in for i in 0..<n { p[i] = max(p[i], 0) } }
    }

    /// Splits a large array over the workers (chunks of 64 Ki values).
    private static func forEachChunk(_ values: inout [Float], _ body: (UnsafeMutablePointer<Float>, Int) -> Void) {
        let count = values.count, chunk = 1 << 16
        values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            Parallel.forEach(tasks: (count + chunk - 1) / chunk) { t, _ in
                body(base + t * chunk, min(chunk, count - t * chunk))
            }
        }
    }
}
