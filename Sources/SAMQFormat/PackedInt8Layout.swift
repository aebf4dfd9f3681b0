/// Geometry of the packed int8 GEMM weight layout shared by the converter and
/// the kernels (the C reference is `samq_pack_weights_i8`).
///
/// A weight viewed as a GEMM operand has `n` output channels and `k` inputs.
/// Columns are grouped in panels of 16 and `k` is padded to a multiple of 8:
/// VNNI broadcasts 4 activation bytes against 16 columns × 4 k (64 bytes),
/// NEON `sdot` covers the same 64 bytes with 4 registers, and i8mm's `smmla`
/// needs 8 consecutive k of two columns, which a zip of two 4-k groups yields.
/// Payload: `np*kp` weight bytes, then `np` f32 scales, then `np` i32 column
/// sums (for the u8×s8 zero-point correction).
public struct PackedInt8Layout: Equatable, Sendable {
    public static let panelWidth = 16
    public static let kGroup = 4
    public static let kPadding = 8

    public let n: Int
    public let k: Int

    public init(n: Int, k: Int) { self.n = n; self.k = k }

    public var paddedN: Int { (n + 15) / 16 * 16 }
    public var paddedK: Int { (k + 7) / 8 * 8 }
    public var weightBytes: Int { paddedN * paddedK }
    public var scalesOffset: Int { weightBytes }
    public var columnSumsOffset: Int { weightBytes + 4 * paddedN }
    public var totalBytes: Int { weightBytes + 8 * paddedN }

    /// Byte offset of weight `w[column][kIndex]` inside the payload.
    @inline(__always)
    public func offset(column: Int, k kIndex: Int) -> Int {
        let panel = column >> 4, c = column & 15
        return panel * paddedK * 16 + (kIndex >> 2) * 64 + c * 4 + (kIndex & 3)
    }

    /// The checked payload size, or nil if it overflows.
    public static func checkedTotalBytes(n: Int, k: Int) -> Int? {
        guard n > 0, k > 0, n <= Int.max / 2, k <= Int.max / 2 else { return nil }
        let layout = PackedInt8Layout(n: n, k: k)
        let (product, overflow) = layout.paddedN.multipliedReportingOverflow(by: layout.paddedK)
        guard !overflow else { return nil }
        let (total, overflow2) = product.addingReportingOverflow(8 * layout.paddedN)
        return overflow2 ? nil : total
    }
}
