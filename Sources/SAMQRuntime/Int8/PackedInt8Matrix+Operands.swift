import SAMQFormat

extension PackedInt8Matrix {
    /// Packs an f32 operand computed at run time (not a stored weight) as a
    /// GEMM "weight" with n = `rows`, k = `cols`, one scale per row
    /// (`PanelPacker.packRows`). Rows of `source` are `ld` apart.
    convenience init(packingRows source: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int, name: String)
        throws(Int8RuntimeError) {
        guard rows > 0, cols > 0, ld >= cols else { throw .invalidPackedWeight(name: name, fault: "empty operand \(rows)×\(cols)") }
        let layout = PackedInt8Layout(n: rows, k: cols)
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: layout.totalBytes, alignment: 64)
        PanelPacker.packRows(source, rows: rows, cols: cols, ld: ld, into: bytes)
        self.init(adopting: bytes, layout: layout, name: name)
    }

    /// Packs the transpose of an f32 `rows × cols` operand: n = `cols` (one
    /// scale per source column, over all rows), k = `rows`
    /// (`PanelPacker.packColumns`), e.g. V of P·V.
    convenience init(packingColumns source: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int, name: String)
        throws(Int8RuntimeError) {
        guard rows > 0, cols > 0, ld >= cols else { throw .invalidPackedWeight(name: name, fault: "empty operand \(rows)×\(cols)") }
        let layout = PackedInt8Layout(n: cols, k: rows)
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: layout.totalBytes, alignment: 64)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * layout.paddedN)
        defer { scratch.deallocate() }
        PanelPacker.packColumns(source, rows: rows, cols: cols, ld: ld, into: bytes, scratch: scratch)
        self.init(adopting: bytes, layout: layout, name: name)
    }
}
