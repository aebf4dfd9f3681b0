/// Lines `lower..<upper` (rows, or columns) of a channels-last map that read
/// only equal inputs, so stage 0 computes one and copies it to the rest.
///
/// Why they exist: SAM pads the resized image with zeros to a square, at the
/// bottom of a landscape image and on the right of a portrait one (a 4:3
/// photo leaves a quarter of the 1024×1024 input zero, 16:9 44%). Stage 0 of
/// TinyViT is convolutions only, and a convolution gives the same output
/// wherever its whole receptive field reads equal inputs. TinyViT has no
/// absolute position embedding, so those outputs stay equal until the first
/// window attention. Each pixel is computed by the same kernels in the same
/// order wherever it lies (per-pixel quantization, exact int32 sums, the same
/// depthwise tap order), so a copy has the bits the computation would have had.
///
/// Rows and columns are followed separately: the bottom padding's band of
/// rows holds equal rows (each row's pixels still differ at the map's left
/// and right edges), and within the rows band of a portrait image's
/// columns band every pixel is equal.
struct UniformBand: Equatable {
    var lower: Int
    var upper: Int

    static let none = UniformBand(lower: 0, upper: 0)

    /// Fewer than two equal lines leave nothing to copy.
    var isEmpty: Bool { upper - lower < 2 }

    /// The lines of a 3×3 convolution's output (padding 1) that read only
    /// lines of this band. `paddingMatches`: the zeros the convolution pads
    /// with equal the band (true only for the zero-padded input image), so
    /// the output lines at the map's edges qualify too.
    func throughConv3x3(stride: Int, inputLength: Int, outputLength: Int, paddingMatches: Bool) -> UniformBand {
        guard upper > lower else { return .none }
        // Output line i reads input lines stride·i − 1 ... stride·i + 1.
        let first = paddingMatches && lower == 0 ? -1 : lower
        let last = paddingMatches && upper == inputLength ? inputLength : upper - 1
        let lowerOut = Self.ceilingDivision(first + 1, stride)
        let upperOut = min(outputLength, Self.floorDivision(last - 1, stride) + 1)
        let band = UniformBand(lower: max(0, lowerOut), upper: upperOut)
        return band.isEmpty ? .none : band
    }

    /// `lines` split into what to compute before the copies (it ends with the
    /// band's first line if `lines` holds it), the lines to copy, and what to
    /// compute after them.
    func split(_ lines: Range<Int>) -> (before: Range<Int>, copied: Range<Int>, after: Range<Int>) {
        guard !isEmpty else { return (lines, lines.upperBound..<lines.upperBound, lines.upperBound..<lines.upperBound) }
        let copyStart = min(max(lines.lowerBound, lower + 1), lines.upperBound)
        let copyEnd = min(max(copyStart, upper), lines.upperBound)
        return (lines.lowerBound..<copyStart, copyStart..<copyEnd, copyEnd..<lines.upperBound)
    }

    /// True if every line of `lines` is in the band.
    func contains(_ lines: Range<Int>) -> Bool { !isEmpty && lines.lowerBound >= lower && lines.upperBound <= upper }

    private static func floorDivision(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
    private static func ceilingDivision(_ a: Int, _ b: Int) -> Int { -floorDivision(-a, b) }
}
