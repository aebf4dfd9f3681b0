import SAMQFormat

/// Per-call packers that turn f32 attention operands into the GEMM kernel's
/// weight layout (`PackedInt8Layout`: panels of 16 columns, k in groups of 4,
/// then f32 scales and i32 column sums).
///
/// For Q·Kᵀ the "weight" is K: one GEMM column per key, quantized per key
/// row. For P·V it is Vᵀ: one GEMM column per channel, quantized per channel
/// over the keys. Both write every byte of the payload (padding included), so
/// the destination needs no clearing. Quantization matches
/// `samq_quantize_rows` (amax/127, round half even, NaN → 0).
enum PanelPacker {
    typealias F16 = SIMD16<Float>
    typealias I16 = SIMD16<Int32>

    /// Packs `rows × cols` f32 (row stride `ld`) as a GEMM weight with
    /// n = rows, k = cols, one scale per row.
    /// `panels` (16 GEMM columns each) restricts the work to part of the
    /// destination, so disjoint ranges can be packed concurrently.
    static func packRows(_ source: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int,
                         into destination: UnsafeMutableRawPointer, panels: Range<Int>? = nil) {
        let layout = PackedInt8Layout(n: rows, k: cols)
        let groups = layout.paddedK / 4
        let panelBytes = layout.paddedK * 16
        let scales = (destination + layout.scalesOffset).assumingMemoryBound(to: Float.self)
        let sums = (destination + layout.columnSumsOffset).assumingMemoryBound(to: Int32.self)
        let vectorCols = cols & ~15
        let range = panels ?? 0..<(layout.paddedN / 16)
        for column in (range.lowerBound * 16)..<(range.upperBound * 16) {
            let slot = destination + (column >> 4) * panelBytes + (column & 15) * 4
            guard column < rows else {
                for g in 0..<groups { (slot + g * 64).storeBytes(of: UInt32(0), as: UInt32.self) }
                scales[column] = 0
                sums[column] = 0
                continue
            }
            let row = source + column * ld
            let (scale, inverse) = Int8Quantization.scales(absMax: Int8Quantization.absMax(row, count: cols))
            let vInverse = F16(repeating: inverse)
            var sumV = I16()
            // 16 values = 4 k-groups: quantize, narrow to bytes, and store
            // each 4-byte group in its panel slot (64 bytes apart).
            var k = 0
            while k < vectorCols {
                let q = Int8Quantization.quantize(UnsafeRawPointer(row + k).loadUnaligned(as: F16.self), vInverse)
                sumV &+= q
                let words = unsafeBitCast(SIMD16<Int8>(truncatingIfNeeded: q), to: SIMD4<UInt32>.self)
                let base = slot + (k >> 2) * 64
                base.storeBytes(of: words[0], as: UInt32.self)
                (base + 64).storeBytes(of: words[1], as: UInt32.self)
                (base + 128).storeBytes(of: words[2], as: UInt32.self)
                (base + 192).storeBytes(of: words[3], as: UInt32.self)
                k += 16
            }
            var sum: Int32 = 0
            for lane in 0..<16 { sum &+= sumV[lane] }
            for g in (vectorCols >> 2)..<groups {
                var word: UInt32 = 0
                for j in 0..<4 where g * 4 + j < cols {
                    let q = Int8Quantization.quantize(row[g * 4 + j], inverse)
                    sum &+= q
                    word |= UInt32(UInt8(truncatingIfNeeded: q)) << (8 * j)
                }
                (slot + g * 64).storeBytes(of: word, as: UInt32.self)
            }
            scales[column] = scale
            sums[column] = sum
        }
    }

    /// Packs the transpose of `rows × cols` f32 (row stride `ld`): a GEMM
    /// weight with n = cols (one column per source column, quantized over
    /// all rows) and k = rows. `scratch` holds `2 · roundUp(cols, 16)` floats.
    static func packColumns(_ source: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int,
                            into destination: UnsafeMutableRawPointer,
                            scratch: UnsafeMutablePointer<Float>) {
        let layout = PackedInt8Layout(n: cols, k: rows)
        let kp = layout.paddedK, np = layout.paddedN
        let scales = (destination + layout.scalesOffset).assumingMemoryBound(to: Float.self)
        let sums = (destination + layout.columnSumsOffset).assumingMemoryBound(to: Int32.self)
        let inverse = scratch
        let amaxBits = UnsafeMutableRawPointer(scratch + np).bindMemory(to: Int32.self, capacity: np)
        // Column maxima over the rows, on |x| bit patterns (see absMax).
        amaxBits.initialize(repeating: 0, count: np)
        for r in 0..<rows {
            let row = source + r * ld
            var c = 0
            while c + 16 <= cols {
                let a = Int8Quantization.finiteMagnitudeBits(UnsafeRawPointer(row + c).loadUnaligned(as: SIMD16<Int32>.self))
                let m = UnsafeRawPointer(amaxBits + c).loadUnaligned(as: SIMD16<Int32>.self)
                UnsafeMutableRawPointer(amaxBits + c).storeBytes(of: Int8Quantization.maxBits(m, a), as: SIMD16<Int32>.self)
                c += 16
            }
            while c < cols {
                let a = Int32(bitPattern: row[c].bitPattern & 0x7FFF_FFFF)
                if a < 0x7F80_0000 && a > amaxBits[c] { amaxBits[c] = a }
                c += 1
            }
        }
        for c in 0..<np {
            let (s, inv) = c < cols ? Int8Quantization.scales(absMax: Float(bitPattern: UInt32(amaxBits[c]))) : (0, 0)
            scales[c] = s
            inverse[c] = inv
        }
        // One k group (4 source rows) × 16 columns at a time: the four
        // quantized rows interleave into 16 words = the 64 bytes of that
        // group in the panel, stored contiguously.
        for panel in 0..<(np / 16) {
            let c0 = panel * 16
            let width = min(16, cols - c0)
            let vInverse = UnsafeRawPointer(inverse + c0).loadUnaligned(as: F16.self)
            var sumV = I16()
            let out = destination + panel * kp * 16
            for g in 0..<(kp / 4) {
                var word = I16()
                for j in 0..<4 {
                    let r = g * 4 + j
                    guard r < rows else { break }
                    let x: F16
                    if width == 16 {
                        x = UnsafeRawPointer(source + r * ld + c0).loadUnaligned(as: F16.self)
                    } else {
                        var partial = F16()
                        for lane in 0..<width { partial[lane] = source[r * ld + c0 + lane] }
                        x = partial
                    }
                    let q = Int8Quantization.quantize(x, vInverse)
                    sumV &+= q
                    word |= (q & 0xFF) &<< Int32(8 * j)
                }
                (out + g * 64).storeBytes(of: word, as: I16.self)
            }
            for lane in 0..<16 { sums[c0 + lane] = sumV[lane] }
        }
    }
}
