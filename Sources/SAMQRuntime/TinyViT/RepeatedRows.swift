/// Rows `lower..<upper` of a channels-last map that all hold the same values,
/// so stage 0 computes row `lower` and copies it to the rest.
///
/// Why they exist: SAM pads the resized image with zeros at the bottom to a
/// square (a 4:3 photo leaves the last quarter of the 1024×1024 input zero,
/// 16:9 leaves 44%). Stage 0 of TinyViT is convolutions only, and a
/// convolution gives the same output row wherever its whole receptive field
/// reads identical rows. TinyViT has no absolute position embedding, so those
/// rows stay identical until the first window attention. Each row is computed
/// by the same kernels in the same order wherever it lies (per-pixel
/// quantization, exact int32 sums, per-row depthwise taps), so a copy has the
/// bits the computation would have had.
struct RepeatedRows: Equatable {
    var lower: Int
    var upper: Int

    static let none = RepeatedRows(lower: 0, upper: 0)

    /// Fewer than two equal rows leave nothing to copy.
    var isEmpty: Bool { upper - lower < 2 }

    /// The rows of a 3×3 convolution's output (padding 1) that read only rows
    /// of this band. `paddingMatches`: the zero rows the convolution pads with
    /// equal the band's rows (true only for the zero-padded input image), so
    /// the output rows at the map's edges qualify too.
    func throughConv3x3(stride: Int, inputHeight: Int, outputHeight: Int, paddingMatches: Bool) -> RepeatedRows {
        guard upper > lower else { return .none }
        // Output row r reads input rows stride·r − 1 ... stride·r + 1.
        let first = paddingMatches && lower == 0 ? -1 : lower
        let last = paddingMatches && upper == inputHeight ? inputHeight : upper - 1
        let lowerOut = Self.ceilingDivision(first + 1, stride)
        let upperOut = min(outputHeight, Self.floorDivision(last - 1, stride) + 1)
        let band = RepeatedRows(lower: max(0, lowerOut), upper: upperOut)
        return band.isEmpty ? .none : band
    }

    /// `rows` split into what to compute before the copies (it ends with the
    /// band's first row if `rows` holds it), the rows to copy, and what to
    /// compute after them.
    func split(_ rows: Range<Int>) -> (before: Range<Int>, copied: Range<Int>, after: Range<Int>) {
        guard !isEmpty else { return (rows, rows.upperBound..<rows.upperBound, rows.upperBound..<rows.upperBound) }
        let copyStart = min(max(rows.lowerBound, lower + 1), rows.upperBound)
        let copyEnd = min(max(copyStart, upper), rows.upperBound)
        return (rows.lowerBound..<copyStart, copyStart..<copyEnd, copyEnd..<rows.upperBound)
    }

    private static func floorDivision(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
    private static func ceilingDivision(_ a: Int, _ b: Int) -> Int { -floorDivision(-a, b) }
}
