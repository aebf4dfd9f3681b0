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
/// For the same reason a level's rows or pixels that read only equal inputs
/// (the image's zero padding, `UniformBand`) are copied, not computed.
struct StageZeroPipeline {
    let stem: ConvStem
    let blocks: [MBConv]
    let merge: PatchMerging

    /// Consecutive rows of one level's map: rows `first..<end`, stored from
    /// `storage[start]` on. Producers write new rows straight into the
    /// storage (`append(upTo:_:)`): appending a returned array moved every
    /// row of stage 0 once more, serially (~16 MB per level for vit_t).
    /// Dropped rows only move `start`; the held rows (a halo and the last
    /// strip) are moved to the front when an append would not fit.
    private final class HeldRows {
        let rowSize: Int
        private var storage: UnsafeMutablePointer<Float>
        private var capacity = 0
        private var count = 0
        private(set) var start = 0
        private(set) var first = 0
        private(set) var end = 0

        init(rowSize: Int) {
            self.rowSize = rowSize
            storage = .allocate(capacity: 0)
        }

        deinit { storage.deallocate() }

        /// Appends rows `end..<newEnd`, which `produce` writes to the pointer it is given.
        func append(upTo newEnd: Int, _ produce: (UnsafeMutablePointer<Float>) throws -> Void) rethrows {
            let needed = (newEnd - end) * rowSize, held = count - start
            if count + needed > capacity {
                if held + needed > capacity {
                    // Exactly what is held plus two rows: later strips need
                    // about as much as the first (the encode's peak RSS is
                    // within 1 MB of vit_t's 48 MB budget).
                    let size = held + needed + 2 * rowSize
                    let grown = UnsafeMutablePointer<Float>.allocate(capacity: size)
                    grown.moveInitialize(from: storage + start, count: held)
                    storage.deallocate()
                    storage = grown
                    capacity = size
                } else {
                    storage.moveInitialize(from: storage + start, count: held)   // overlapping: memmove
                }
                count = held
                start = 0
            }
            try produce(storage + count)
            count += needed
            end = newEnd
        }

        /// Forgets the rows above `row`.
        func drop(below row: Int) {
            let k = min(max(0, row - first), end - first)
            start += k * rowSize
            first += k
        }

        /// Pointer to map row `rows.lowerBound` (the rows must be held).
        func pointer(from rows: Range<Int>) -> UnsafeMutablePointer<Float> {
            precondition(rows.lowerBound >= first && rows.upperBound <= end, "internal stage-0 rows \(rows) not held")
            return storage + start + (rows.lowerBound - first) * rowSize
        }
    }

    /// What one level copies instead of computing (`UniformBand`): a band
    /// of equal rows (a landscape image's bottom padding), whose first row is
    /// kept once computed (the level's storage may have dropped it by the
    /// time the band's last rows are produced); and a block of equal pixels
    /// (a portrait image's right padding, `rows × columns`), whose pixel is
    /// kept once computed and then copied by the layer itself
    /// (`PointwiseDepthwiseColumns.Uniform`).
    private final class LevelCopies {
        let rows: UniformBand
        let block: (rows: UniformBand, columns: UniformBand)
        let width: Int
        let channels: Int
        private var row: [Float] = []
        private var pixel: [Float] = []

        init(rows: UniformBand, block: (rows: UniformBand, columns: UniformBand), width: Int, channels: Int) {
            self.rows = rows
            self.block = block
            self.width = width
            self.channels = channels
        }

        /// Produces `lines` (map rows) into `output`: the rows outside the
        /// band's copies through `compute(part, destination, uniform)`, the
        /// copies from the band's first row.
        func produce(_ lines: Range<Int>, into output: UnsafeMutablePointer<Float>,
                     compute: (Range<Int>, UnsafeMutablePointer<Float>, PointwiseDepthwiseColumns.Uniform?) throws -> Void)
            rethrows {
            let rowSize = width * channels
            let (before, copied, after) = rows.split(lines)
            if !before.isEmpty {
                try computePart(before, output, compute)
                if before.contains(rows.lower) && !rows.isEmpty {
                    row = Array(UnsafeBufferPointer(start: output + (rows.lower - lines.lowerBound) * rowSize, count: rowSize))
                }
            }
            if !copied.isEmpty {
                precondition(row.count == rowSize, "internal stage-0 row \(rows.lower) copied before it was computed")
                row.withUnsafeBufferPointer { source in
                    for r in copied {
                        (output + (r - lines.lowerBound) * rowSize).update(from: source.baseAddress!, count: rowSize)
                    }
                }
            }
            if !after.isEmpty { try computePart(after, output + (after.lowerBound - lines.lowerBound) * rowSize, compute) }
        }

        private func computePart(_ part: Range<Int>, _ output: UnsafeMutablePointer<Float>,
                                 _ compute: (Range<Int>, UnsafeMutablePointer<Float>, PointwiseDepthwiseColumns.Uniform?) throws -> Void)
            rethrows {
            if !pixel.isEmpty && block.rows.contains(part) {
                try pixel.withUnsafeBufferPointer { value in
                    try compute(part, output, .init(columns: block.columns.lower..<block.columns.upper, value: value.baseAddress!))
                }
                return
            }
            try compute(part, output, nil)
            if pixel.isEmpty && !block.rows.isEmpty && !block.columns.isEmpty && part.contains(block.rows.lower) {
                let first = output + ((block.rows.lower - part.lowerBound) * width + block.columns.lower) * channels
                pixel = Array(UnsafeBufferPointer(start: first, count: channels))
            }
        }
    }

    /// Returns the merged tokens `[side][side][channels]` and `side`.
    func callAsFunction(_ image: StemInput, size: Int, stripPixels: Int, scratch: StripScratch,
                        copiesUniformRegions: Bool = true,
                        progress: (Int) -> Void) throws -> (tokens: [Float], side: Int) {
        let side0 = ConvStem.outputSize(size)
        let side = merge.outputSize(side0)
        let channels = merge.outChannels
        // The zero padding's uniform lines at the stem's output, then through
        // each block's depthwise 3×3 and the merge's (stride 2 or 1).
        var rowBand = UniformBand.none, block = (rows: UniformBand.none, columns: UniformBand.none)
        if copiesUniformRegions {
            rowBand = ConvStem.uniformLines(zeroFrom: image.zeroRowsStart(size: size, channels: stem.inChannels), size: size)
            let zeroColumns = image.zeroColumnsStart(size: size, channels: stem.inChannels)
            if zeroColumns < size {
                block = (ConvStem.uniformLines(zeroFrom: 0, size: size), ConvStem.uniformLines(zeroFrom: zeroColumns, size: size))
            }
        }
        func next(_ band: UniformBand, stride: Int, to length: Int) -> UniformBand {
            band.throughConv3x3(stride: stride, inputLength: side0, outputLength: length, paddingMatches: false)
        }
        // copies[0]: the stem's output (computed whole); copies[k + 1]: block k's; the last: the merge's.
        var copies = [LevelCopies(rows: rowBand, block: (.none, .none), width: side0, channels: stem.outChannels)]
        for _ in blocks {
            rowBand = next(rowBand, stride: 1, to: side0)
            block = (next(block.rows, stride: 1, to: side0), next(block.columns, stride: 1, to: side0))
            copies.append(LevelCopies(rows: rowBand, block: block, width: side0, channels: stem.outChannels))
        }
        copies.append(LevelCopies(rows: next(rowBand, stride: merge.stride, to: side),
                                  block: (next(block.rows, stride: merge.stride, to: side),
                                          next(block.columns, stride: merge.stride, to: side)),
                                  width: side, channels: channels))
        let band = max(1, min(side, stripPixels / max(side, 1)))
        // levels[0]: stem output; levels[k + 1]: block k's output.
        let levels = (0...blocks.count).map { _ in HeldRows(rowSize: side0 * stem.outChannels) }
        let carries = blocks.map { _ in PointwiseDepthwiseColumns.Carry() }, mergeCarry = PointwiseDepthwiseColumns.Carry()
        // Every row is written below (a GEMM output): no serial 8 MB zero fill first.
        var out = [Float](unsafeUninitializedCapacity: side * side * channels) { $1 = side * side * channels }
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
                    let rows = levels[0].end..<ends[0]
                    try levels[0].append(upTo: ends[0]) { output in
                        try copies[0].produce(rows, into: output) { part, into, _ in
                            try stem.rows(part, of: image, size: size, scratch: scratch, into: into)
                        }
                    }
                }
                for (k, block) in blocks.enumerated() where ends[k + 1] > levels[k + 1].end {
                    let rows = levels[k + 1].end..<ends[k + 1]
                    try levels[k + 1].append(upTo: rows.upperBound) { output in
                        try copies[k + 1].produce(rows, into: output) { part, into, uniform in
                            let input = max(0, part.lowerBound - 1)..<min(side0, part.upperBound + 1)
                            try block.rows(input: levels[k].pointer(from: input), inputRows: input, height: side0,
                                           width: side0, outputRows: part, into: into, scratch: scratch,
                                           carry: carries[k], uniform: uniform)
                        }
                    }
                    levels[k].drop(below: rows.upperBound - 1)   // the next rows' upper halo
                }
                try copies[blocks.count + 1].produce(m0..<m1, into: dst.baseAddress! + m0 * side * channels) { part, into, uniform in
                    let input = merge.inputRows(for: part, height: side0)
                    try merge.rows(input: levels[blocks.count].pointer(from: input), inputRows: input,
                                   height: side0, width: side0, outputRows: part,
                                   into: into, scratch: scratch, carry: mergeCarry, uniform: uniform)
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
