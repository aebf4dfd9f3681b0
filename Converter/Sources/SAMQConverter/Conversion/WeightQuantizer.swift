import Foundation
import SAMQFormat

/// Symmetric per-output-channel int8 quantization of a GEMM weight, packed
/// into the kernels' layout in the same pass.
public enum WeightQuantizer {
    public struct Result {
        /// Ready-to-store payload: packed weights, scales, column sums.
        public var payload: [UInt8]
        /// Signal-to-quantization-noise ratio in dB (∞ when exact).
        public var sqnr: Double
    }

    /// Quantizes `values` (the tensor in its logical shape) seen through `view`.
    public static func quantize(_ values: [Float], shape: [Int], view: GemmView, name: String) throws -> Result {
        guard let (n, k) = view.dimensions(of: shape), n * k == values.count else {
            throw ConverterError.shapeMismatch(name: name, expected: shape, found: [values.count])
        }
        let layout = PackedInt8Layout(n: n, k: k)
        var payload = [UInt8](repeating: 0, count: layout.totalBytes)
        var signal = 0.0, noise = 0.0
        var row = [Float](repeating: 0, count: k)
        try payload.withUnsafeMutableBytes { out in
            let weights = out.bindMemory(to: Int8.self)
            for column in 0..<n {
                // Gather the column's k inputs; for linear/conv they are contiguous.
                var amax: Float = 0
                for kIndex in 0..<k {
                    let value = values[GemmIndexing.logicalIndex(view: view, shape: shape, n: column, k: kIndex)]
                    guard value.isFinite else {
                        throw ConverterError.nonFiniteWeights(name: name, index: GemmIndexing.logicalIndex(view: view, shape: shape, n: column, k: kIndex))
                    }
                    row[kIndex] = value
                    amax = max(amax, abs(value))
                }
                // An all-zero (or denormal-only) channel gets scale 0 and q = 0:
                // dequantizing gives exactly 0 and nothing divides by the scale.
                let usable = amax >= Float.leastNormalMagnitude * 128
                let scale = usable ? amax / 127 : 0
                let inverse = usable ? 127 / amax : 0
                var columnSum: Int32 = 0
                for kIndex in 0..<k {
                    let q = Int8(max(-127, min(127, (row[kIndex] * inverse).rounded(.toNearestOrEven))))
                    weights[layout.offset(column: column, k: kIndex)] = q
                    columnSum += Int32(q)
                    let error = Double(row[kIndex]) - Double(q) * Double(scale)
                    signal += Double(row[kIndex]) * Double(row[kIndex])
                    noise += error * error
                }
                out.storeBytes(of: scale, toByteOffset: layout.scalesOffset + 4 * column, as: Float.self)
                out.storeBytes(of: columnSum, toByteOffset: layout.columnSumsOffset + 4 * column, as: Int32.self)
            }
        }
        return Result(payload: payload, sqnr: sqnrDecibels(signal: signal, noise: noise))
    }

    static func sqnrDecibels(signal: Double, noise: Double) -> Double {
        noise == 0 ? .infinity : 10 * log10(signal / noise)
    }
}
