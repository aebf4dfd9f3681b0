/// TinyViT's stage 0 — conv stem, MBConv blocks, first PatchMerging — run
/// as one pipeline over strips of output rows, so none of the 1/4-resolution
/// maps (vit_t: 16 MB each, 64 MB for an MBConv's hidden map) is ever whole.
/// Only the merged output (vit_t: 128×128×128, 8 MB) is.
///
/// Each level (the stem's output, then each block's) keeps the rows it has
/// produced until the next level no longer needs them (the one-row halo of a
/// 3×3 conv), so every row of every level is computed exactly once; a strip
/// only computes the rows that are new. (Recomputing the halos instead cost
/// vit_t about 50% more stage-0 multiply-adds at 512-pixel strips: 14 stem
/// rows per 8 new ones.) Every layer's arithmetic on a row is independent of
/// the strip it is computed in, so the strip size changes nothing but memory.
struct StageZeroPipeline {
    let stem: ConvStem
    let blocks: [MBConv]
    let merge: PatchMerging

    /// Consecutive rows of one level's map: rows `first..<end`, stored from
    /// `values[start]` on. Dropped rows only move `start`; the array is
    /// compacted when an append would otherwise grow it (removing them at
    /// every drop moved all the held rows each time, serially).
    private struct HeldRows {
        let rowSize: Int
        var values: [Float] = []
        var start = 0
        var first = 0
        var end = 0

        mutating func append<C: Collection<Float>>(_ rows: C, upTo newEnd: Int) {
            precondition(rows.count == (newEnd - end) * rowSize, "internal stage-0 strip of the wrong size")
            if start > 0 && values.count + rows.count > values.capacity {
                values.removeFirst(start)
                start = 0
            }
            values.append(contentsOf: rows)
            end = newEnd
        }

        /// Forgets the rows above `row`.
        mutating func drop(below row: Int) {
            let k = min(max(0, row - first), end - first)
            start += k * rowSize
            first += k
        }

        /// Pointer to map row `row` (which must be held).
        func withRows<R>(from rows: Range<Int>, _ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
            precondition(rows.lowerBound >= first && rows.upperBound <= end, "internal stage-0 rows \(rows) not held")
            return try values.withUnsafeBufferPointer {
                try body($0.baseAddress! + start + (rows.lowerBound - first) * rowSize)
            }
        }
    }

    /// Returns the merged tokens `[side][side][channels]` and `side`.
    func callAsFunction(_ image: StemInput, size: Int, stripPixels: Int, scratch: StripScratch,
                        progress: (Int) -> Void) throws -> (tokens: [Float], side: Int) {
        let side0 = ConvStem.outputSize(size)
        let side = merge.outputSize(side0)
        let channels = merge.outChannels
        let band = max(1, min(side, stripPixels / max(side, 1)))
        // levels[0]: stem output; levels[k + 1]: block k's output.
        var levels = [HeldRows](repeating: HeldRows(rowSize: side0 * stem.outChannels), count: blocks.count + 1)
        var out = [Float](repeating: 0, count: side * side * channels)
        try out.withUnsafeMutableBufferPointer { dst in
            var m0 = 0
            while m0 < side {
                let m1 = min(side, m0 + band)
                let mergeRows = merge.inputRows(for: m0..<m1, height: side0)
                // How far each level must reach: the last one to the merge's
                // last input row, each one before it one row further.
                var ends = [Int](repeating: 0, count: blocks.count + 1)
                ends[blocks.count] = mergeRows.upperBound
                for k in stride(from: blocks.count - 1, through: 0, by: -1) { ends[k] = min(side0, ends[k + 1] + 1) }
                if ends[0] > levels[0].end {
                    levels[0].append(try stem.rows(levels[0].end..<ends[0], of: image, size: size, scratch: scratch),
                                     upTo: ends[0])
                }
                for (k, block) in blocks.enumerated() where ends[k + 1] > levels[k + 1].end {
                    let rows = levels[k + 1].end..<ends[k + 1]
                    let input = max(0, rows.lowerBound - 1)..<min(side0, rows.upperBound + 1)
                    let produced = try levels[k].withRows(from: input) {
                        try block.rows(input: $0, inputRows: input, height: side0, width: side0, outputRows: rows,
                                       scratch: scratch)
                    }
                    levels[k + 1].append(produced, upTo: rows.upperBound)
                    levels[k].drop(below: rows.upperBound - 1)   // the next rows' upper halo
                }
                try levels[blocks.count].withRows(from: mergeRows) {
                    try merge.rows(input: $0, inputRows: mergeRows, height: side0, width: side0,
                                   outputRows: m0..<m1, into: dst.baseAddress! + m0 * side * channels,
                                   scratch: scratch)
                }
                if m1 < side {
                    levels[blocks.count].drop(below: merge.inputRows(for: m1..<(m1 + 1), height: side0).lowerBound)
                }
                m0 = m1
            }
        }
        progress(blocks.count)
        return (out, side)
    }
}
