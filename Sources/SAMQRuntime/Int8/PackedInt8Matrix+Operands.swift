import SAMQFormat

extension PackedInt8Matrix {
    /// Packs an f32 operand computed at run time (not a stored weight) as a
    /// GEMM "weight" with n = `rows`, k = `cols`, one scale per row
    /// (`PanelPacker.packRows`). Rows of `source` are `ld` apart. With a
    /// `pool`, panels are packed in parallel (same bytes).
    convenience init(packingRows source: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int, name: String,
                     pool: ThreadPool? = nil) throws(Int8RuntimeError) {
        guard rows > 0, cols > 0, ld >= cols else { throw .invalidPackedWeight(name: name, fault: "empty operand \(rows)×\(cols)") }
        let layout = PackedInt8Layout(n: rows, k: cols)
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: layout.totalBytes, alignment: 64)
        Self.forPanelChunks(of: layout, pool: pool) { panels in
            PanelPacker.packRows(source, rows: rows, cols: cols, ld: ld, into: bytes, panels: panels)
        }
        self.init(adopting: bytes, layout: layout, name: name)
    }

    /// Splits the panels of `layout` into one chunk per thread of `pool`, or
    /// runs inline (small operands).
    private static func forPanelChunks(of layout: PackedInt8Layout, pool: ThreadPool?, _ body: (Range<Int>) -> Void) {
        let panels = layout.paddedN / 16
        let chunks = min(panels, pool?.threads ?? 1)
        let perChunk = (panels + max(chunks, 1) - 1) / max(chunks, 1)
        guard let pool, chunks > 1, layout.paddedN * layout.paddedK >= 1 << 16 else { return body(0..<panels) }
        pool.parallelFor(count: chunks) { chunk, _ in
            body((chunk * perChunk)..<min(panels, (chunk + 1) * perChunk))
        }
    }
}
