import CKernels
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQFormat

/// The precision of the attention products on the int8 path: the decoder's
/// softmax·values (`keys += P·U` of image→token attention: 4096×56×256
/// multiply-adds per layer and prompt), and TinyViT's window attention, both
/// q·kᵀ and softmax·values (`samq_window_attention_bf16`; its error is a
/// twentieth to a fiftieth of the int8 encoder's, relative L2: see
/// docs/ACCURACY.md).
///
/// The probabilities cannot go to int8 without losing the diffuse heads (one
/// scale per pixel row spans eight heads' softmaxes, see
/// `DecoderAttention.finishImageToToken`), but bf16 keeps each value's
/// relative precision (8 bits) and AVX512_BF16's `vdpbf16ps` does twice the
/// multiply-adds of an f32 FMA per cycle on Zen 4. So bf16 is the default
/// where the CPU has it and f32 elsewhere (`samq_bf16_native`). On the
/// `amx` ISA with AMX-BF16 the window attention's products run on AMX tiles
/// (`samq_window_attention_bf16_tiles`; close to, not bit-equal with, the
/// other ISAs' bf16 results: docs/DECISIONS.md).
/// `SAMQ_BF16=0` forces f32; `SAMQ_BF16=1` requires bf16 and is an error on
/// a CPU without it, as a forced `SAMQ_ISA` is.
public enum AttentionProductPrecision: String, Sendable {
    case f32
    case bf16

    /// The environment variable that overrides the default.
    public static let environmentKey = "SAMQ_BF16"

    /// bf16 where `isa` runs it on bf16 hardware, else f32.
    public static func `default`(for isa: KernelISA) -> AttentionProductPrecision {
        samq_bf16_native(isa.raw) != 0 ? .bf16 : .f32
    }

    /// The default for `isa`, unless `SAMQ_BF16` says otherwise.
    public static func resolve(for isa: KernelISA,
                               environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(Int8RuntimeError) -> AttentionProductPrecision {
        guard let value = environment[environmentKey]?.trimmingWhitespace(), !value.isEmpty else {
            return .default(for: isa)
        }
        switch value {
        case "0": return .f32
        case "1":
            guard samq_bf16_native(isa.raw) != 0 else {
                throw .unsupportedSetting(setting: "\(environmentKey)=1",
                                          problem: "kernel ISA '\(isa.name)' on this CPU has no bf16 products (AVX512_BF16)")
            }
            return .bf16
        default:
            throw .unsupportedSetting(setting: "\(environmentKey)=\(value)", problem: "must be 0 (f32) or 1 (bf16)")
        }
    }
}
