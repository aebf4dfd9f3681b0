/// How a stored weight is seen by the GEMM kernels: `n` output channels by
/// `k` reduction inputs. Quantization scales are per `n`.
public enum GemmView: String, Codable, Sendable {
    /// nn.Linear `[out, in]`: n = out, k = in.
    case linear
    /// nn.Conv2d `[out, in, kh, kw]`: n = out, k = in·kh·kw in PyTorch's flattening order.
    case conv
    /// nn.ConvTranspose2d `[in, out, kh, kw]`: n = out·kh·kw (in that order), k = in.
    /// Each input pixel scatters a kh×kw patch, so the weight is transposed before packing.
    case convTranspose

    /// `(n, k)` for a tensor of this kind with the given logical shape.
    public func dimensions(of shape: [Int]) -> (n: Int, k: Int)? {
        switch self {
        case .linear:
            guard shape.count == 2 else { return nil }
            return (shape[0], shape[1])
        case .conv:
            guard shape.count == 4 else { return nil }
            return (shape[0], shape[1] * shape[2] * shape[3])
        case .convTranspose:
            guard shape.count == 4 else { return nil }
            return (shape[1] * shape[2] * shape[3], shape[0])
        }
    }
}
