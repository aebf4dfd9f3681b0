import CKernels
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
    /// Sixteen rows at a time are quantized (`samq_quantize_rows`) and packed
    /// (`samq_pack_panel_i8`) while they are in L1: in C both get the ISA's
    /// vectors, which the Swift loop did not (the package's Swift is built for
    /// the x86-64 baseline).
    static func packRows(_ source: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int,
                         into destination: UnsafeMutableRawPointer, panels: Range<Int>? = nil,
                         isa: KernelISA = .best) {
        let layout = PackedInt8Layout(n: rows, k: cols)
        let kp = layout.paddedK
        let range = panels ?? 0..<(layout.paddedN / 16)
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: max(1, 16 * kp)) { quantized in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { scales in
                for panel in range {
                    let count = max(0, min(16, rows - panel * 16))
                    if count > 0 {
                        samq_quantize_rows(isa.raw, source + panel * 16 * ld, count, cols, ld, quantized.baseAddress!,
                                           kp, scales.baseAddress!)
                    }
                    samq_pack_panel_i8(quantized.baseAddress!, kp, scales.baseAddress!, count, rows, cols, panel,
                                       destination)
                }
            }
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
