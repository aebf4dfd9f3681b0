import CKernels

/// GELU for the decoder's output upscaling (`output_upscaling.2`) and
/// TinyViT's MBConv, vectorized.
///
/// The C kernels' GELU (`samq_gelu_inplace`): the very op sequence of the
/// fused GEMM epilogue (which the second upscaling layer already uses), so
/// the two GELUs of the upscaling path give the same bits for the same input,
/// on every ISA. 0.5·y·(1 + erf(y/√2)) with erf by Abramowitz–Stegun 7.1.26:
/// within 2e-7·max(1,|y|) of exact-erf GELU. (A Swift SIMD8 version of the
/// same formula measured ~3× slower: 7% of a vit_b decode for 1 M values.)
enum DecoderGELU {
    /// The kernel family; every ISA gives identical bits, so any will do.
    private static let isa = samq_isa_best()

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
        samq_gelu_inplace(isa, x, count)
    }

    /// One value (`samq_gelu`).
    static func gelu(_ y: Float) -> Float { samq_gelu(y) }
}
