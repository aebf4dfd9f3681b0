#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `PositionEmbeddingRandom`: random Fourier features of normalized 2-D
/// coordinates, `[sin(2π·(2c−1)·G), cos(2π·(2c−1)·G)]`.
struct PositionEmbeddingRandom {
    /// `positional_encoding_gaussian_matrix`, `[2][features]`.
    let gaussian: [Float]
    let features: Int
    /// `2 * np.pi`, evaluated in double by Python, then used as a float32 scalar.
    static let twoPi = Float(2 * Double.pi)

    init(weights: WeightProvider, prefix: String, features: Int) throws {
        self.features = features
        gaussian = try weights.tensor(prefix + ".positional_encoding_gaussian_matrix", shape: [2, features])
    }

    /// Encodes one point already normalized to [0, 1]² into `2 * features` values.
    func encode(x: Float, y: Float, into out: UnsafeMutablePointer<Float>) {
        let cx = 2 * x - 1, cy = 2 * y - 1
        for f in 0..<features {
            let v = Self.twoPi * (cx * gaussian[f] + cy * gaussian[features + f])
            out[f] = sinf(v)
            out[features + f] = cosf(v)
        }
    }

    /// `forward(size)`: the encoding of every cell centre of an `h × w` grid,
    /// channels-last `[h*w][2*features]`.
    ///
    /// A million `sinf`/`cosf` calls for a 64×64 grid (~10 ms, at model load):
    /// rows are spread over the compute threads, each cell computed exactly as
    /// `encode` computes it alone, so the values do not depend on the split.
    /// (The sum inside the sine is not split into per-axis sines and cosines:
    /// the angle-addition identity would change the float32 results.)
    func dense(height h: Int, width w: Int) -> [Float] {
        let c = 2 * features
        // Every value is written below: no zero fill first.
        return [Float](unsafeUninitializedCapacity: h * w * c) { buffer, initialized in
            let out = buffer.baseAddress!
            Parallel.forEach(tasks: h) { y, _ in
                for x in 0..<w {
                    // cumsum(ones) - 0.5 is exactly index + 0.5 in float32.
                    encode(x: (Float(x) + 0.5) / Float(w), y: (Float(y) + 0.5) / Float(h), into: out + (y * w + x) * c)
                }
            }
            initialized = h * w * c
        }
    }

    /// `forward_with_coords`: pixel coordinates in the model input frame,
    /// divided by the input size (`x / W`, `y / H`).
    func encode(pixelX x: Float, pixelY y: Float, imageHeight: Int, imageWidth: Int,
                into out: UnsafeMutablePointer<Float>) {
        encode(x: x / Float(imageWidth), y: y / Float(imageHeight), into: out)
    }
}
