import CKernels
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQFormat

/// One family of C micro-kernels (`samq_isa`), chosen once at start-up.
///
/// The int32 accumulators, the f32 epilogue, the row quantizer and the f32
/// depthwise 3×3 conv are bit-exact across families, so the choice changes
/// speed, never results (the f32 GEMM `samq_sgemm` and the f32 window
/// attention `samq_window_attention` are the exceptions: their summation
/// order differs by ISA);
/// forcing a family (`SAMQ_ISA=avx2`) is how tests and bug reports compare them.
public struct KernelISA: Hashable, Sendable, CustomStringConvertible {
    /// The C enum value handed to every kernel call.
    let raw: samq_isa

    init(raw: samq_isa) { self.raw = raw }

    public static let scalar = KernelISA(raw: SAMQ_ISA_SCALAR)
    public static let avx2 = KernelISA(raw: SAMQ_ISA_AVX2)
    public static let avx512vnni = KernelISA(raw: SAMQ_ISA_AVX512VNNI)
    public static let neon = KernelISA(raw: SAMQ_ISA_NEON)
    public static let dotprod = KernelISA(raw: SAMQ_ISA_DOTPROD)
    public static let i8mm = KernelISA(raw: SAMQ_ISA_I8MM)
    /// avx512vnni with the int8 GEMM on AMX tiles (Sapphire Rapids and later;
    /// the same integers, so the same bits).
    public static let amx = KernelISA(raw: SAMQ_ISA_AMX)

    /// Every family the C library knows, supported here or not.
    public static let all: [KernelISA] = (0..<Int32(SAMQ_ISA_COUNT)).map { KernelISA(raw: samq_isa(rawValue: UInt32($0))) }

    /// The name `SAMQ_ISA` accepts: "scalar", "avx2", "avx512vnni", "neon", "dotprod", "i8mm", "amx".
    public var name: String { String(cString: samq_isa_name(raw)) }
    public var description: String { name }

    /// Whether this build and this CPU can run the family.
    public var isSupported: Bool { samq_isa_supported(raw) != 0 }

    /// The families this CPU can run, scalar first.
    public static var supported: [KernelISA] { all.filter(\.isSupported) }

    /// The fastest family this CPU supports.
    public static var best: KernelISA { KernelISA(raw: samq_isa_best()) }

    /// The family called `name`, if this CPU can run it.
    public init(name: String) throws(Int8RuntimeError) {
        let supportedNames = KernelISA.supported.map(\.name)
        let index = samq_isa_from_name(name)
        guard index >= 0 else { throw .unknownISA(name: name, supported: supportedNames) }
        let isa = KernelISA(raw: samq_isa(rawValue: UInt32(index)))
        guard isa.isSupported else { throw .unsupportedISA(name: name, supported: supportedNames) }
        self = isa
    }

    /// The environment variable that forces a family.
    public static let environmentKey = "SAMQ_ISA"

    /// `SAMQ_ISA` if set (and non-empty), else `best`. An unknown or
    /// unsupported name is an error rather than a silent fallback: a forced
    /// path that quietly ran another kernel would make a benchmark or a bug
    /// report lie.
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(Int8RuntimeError) -> KernelISA {
        guard let requested = environment[environmentKey]?.trimmingWhitespace(),
              !requested.isEmpty else { return best }
        return try KernelISA(name: requested.lowercased())
    }
}
