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
    /// all rows) and k = rows (`samq_pack_columns_i8`, vectorized in C).
    static func packColumns(_ source: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int,
                            into destination: UnsafeMutableRawPointer, isa: KernelISA = .best) {
        samq_pack_columns_i8(isa.raw, source, rows, cols, ld, destination)
    }
}
