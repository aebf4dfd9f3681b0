/// TinyViT's stage 0 — conv stem, MBConv blocks, first PatchMerging — run
/// as one pipeline over strips of output rows: each strip pulls the rows it
/// needs from the layer before (one halo row per 3×3 conv, recomputed rather
/// than kept), so none of the 1/4-resolution maps (vit_t: 16 MB each, 64 MB
/// for an MBConv's hidden map) is ever whole. Only the merged output
/// (vit_t: 128×128×128, 8 MB) is.
struct StageZeroPipeline {
    let stem: ConvStem
    let blocks: [MBConv]
    let merge: PatchMerging

    /// Returns the merged tokens `[side][side][channels]` and `side`.
    func callAsFunction(_ image: StemInput, size: Int, stripPixels: Int, scratch: StripScratch,
                        progress: (Int) -> Void) throws -> (tokens: [Float], side: Int) {
        let side0 = ConvStem.outputSize(size)
        let side = merge.outputSize(side0)
        let channels = merge.outChannels
        let band = max(1, min(side, stripPixels / max(side, 1)))
        var out = [Float](repeating: 0, count: side * side * channels)
        try out.withUnsafeMutableBufferPointer { dst in
            var m0 = 0
            while m0 < side {
                let m1 = min(side, m0 + band)
                // Rows each level must produce, from the merge back to the stem.
                var need = [merge.inputRows(for: m0..<m1, height: side0)]
                for _ in blocks {
                    let r = need[0]
                    need.insert(max(0, r.lowerBound - 1)..<min(side0, r.upperBound + 1), at: 0)
                }
                var x = try stem.rows(need[0], of: image, size: size, scratch: scratch)
                for (k, block) in blocks.enumerated() {
                    x = try x.withUnsafeBufferPointer {
                        try block.rows(input: $0.baseAddress!, inputRows: need[k], height: side0, width: side0,
                                       outputRows: need[k + 1], scratch: scratch)
                    }
                }
                try x.withUnsafeBufferPointer {
                    try merge.rows(input: $0.baseAddress!, inputRows: need[blocks.count], height: side0, width: side0,
                                   outputRows: m0..<m1, into: dst.baseAddress! + m0 * side * channels,
                                   scratch: scratch)
                }
                m0 = m1
            }
        }
        progress(blocks.count)
        return (out, side)
    }
}
