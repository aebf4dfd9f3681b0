/// PNG row filtering (PNG specification, section 9): each filtered row is
/// the filter's type byte, then every byte minus its predictor, modulo 256.
/// Predictors read the unfiltered image: `a` is the byte one pixel to the
/// left, `b` the byte above, `c` the byte above and to the left, each 0
/// outside the image.
enum PNGRowFilter {
    /// Filters `rows` of the image at `pixels` (`stride` bytes per row,
    /// `bytesPerPixel` per pixel) into `out`, which holds
    /// `rows.count × (stride + 1)` bytes.
    static func apply(_ filter: PNGCompression.RowFilter, pixels: UnsafePointer<UInt8>, stride: Int,
                      bytesPerPixel bpp: Int, rows: Range<Int>, into out: UnsafeMutablePointer<UInt8>) {
        for y in rows {
            let row = pixels + y * stride
            let prior = y > 0 ? row - stride : nil
            let target = out + (y - rows.lowerBound) * (stride + 1)
            target[0] = filter.rawValue
            let o = target + 1
            switch (filter, prior) {
            case (.none, _), (.up, nil):
                o.update(from: row, count: stride)
            case (.up, let above?):
                for x in 0..<stride { o[x] = row[x] &- above[x] }
            case (.sub, _), (.paeth, nil):
                // Without a row above, Paeth's predictor is always `a`: Sub.
                for x in 0..<min(bpp, stride) { o[x] = row[x] }
                if stride > bpp {
                    for x in bpp..<stride { o[x] = row[x] &- row[x - bpp] }
                }
            case (.paeth, let above?):
                // In the first pixel a = c = 0, so the predictor is `b`.
                for x in 0..<min(bpp, stride) { o[x] = row[x] &- above[x] }
                if stride > bpp {
                    for x in bpp..<stride { o[x] = row[x] &- paeth(row[x - bpp], above[x], above[x - bpp]) }
                }
            }
        }
    }

    /// The Paeth predictor: whichever of `a`, `b`, `c` is closest to
    /// `a + b − c`, ties going to `a`, then `b`.
    @inline(__always)
    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let ia = Int16(a), ib = Int16(b), ic = Int16(c)
        // |p − a| = |b − c|, |p − b| = |a − c|, |p − c| = |a + b − 2c| for p = a + b − c.
        let pa = magnitude(ib &- ic), pb = magnitude(ia &- ic), pc = magnitude(ia &+ ib &- ic &- ic)
        return pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
    }

    /// |v| without a trap (every value here is within ±510).
    @inline(__always)
    private static func magnitude(_ v: Int16) -> Int16 {
        let sign = v >> 15
        return (v ^ sign) &- sign
    }
}
