#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What every int8 layer needs to run: the kernel family, the thread pool and
/// the reusable scratch memory.
///
/// One context per model that runs at a time: layers of the same model run in
/// sequence and share the scratch buffers (a vit_h forward would otherwise
/// hold one quantized-activation buffer per linear). Two models running
/// concurrently need two contexts.
public final class Int8Context: @unchecked Sendable {
    public let isa: KernelISA
    public let pool: ThreadPool
    /// The attention products of the int8 path — the decoder's softmax·values
    /// and TinyViT's window attention (`samq_window_attention_bf16`): bf16
    /// where `isa` has them (nil at init), else f32.
    public let attentionProducts: AttentionProductPrecision
    let workspace: Int8Workspace

    public init(isa: KernelISA = .best, pool: ThreadPool = .shared,
                attentionProducts: AttentionProductPrecision? = nil) {
        self.isa = isa
        self.pool = pool
        self.attentionProducts = attentionProducts ?? .default(for: isa)
        workspace = Int8Workspace(workers: pool.threads)
    }

    /// The context the runtime uses by default: `SAMQ_ISA` (or the best
    /// family) and `SAMQ_BF16` on the shared pool. Throws if either asks for
    /// what this CPU lacks.
    public static func fromEnvironment(pool: ThreadPool = .shared) throws(Int8RuntimeError) -> Int8Context {
        let isa = try KernelISA.resolve()
        return Int8Context(isa: isa, pool: pool, attentionProducts: try AttentionProductPrecision.resolve(for: isa))
    }
}

/// Grow-only scratch shared by the layers of one context. Each buffer has
/// one purpose so a layer that calls another (a conv calling its GEMM) never
/// overwrites its caller's data.
final class Int8Workspace {
    /// Quantized activations `[rows][Kp]` of the current GEMM.
    let activations = AlignedBuffer()
    /// Their per-row scales.
    let rowScales = AlignedBuffer()
    /// im2col / patch rows of the current conv.
    let columns = AlignedBuffer()
    /// GEMM output before a scatter (conv-transpose) or a transpose.
    let staging = AlignedBuffer()
    /// Packed K (scores "weights") of every (batch, head) of an attention call.
    let packedKeys = AlignedBuffer()
    /// Rel-pos rows (rel_h, rel_w) of every (batch, head) of an attention call.
    let relative = AlignedBuffer()
    /// Packed Vᵀ of every (batch, head).
    let packedValues = AlignedBuffer()
    /// Block-level activations that would otherwise be fresh 15–50 MB arrays
    /// per call (each a round of page faults): the qkv output, then the MLP
    /// hidden layer (never live together), and the attention output.
    let blockWide = AlignedBuffer()
    let blockNarrow = AlignedBuffer()
    /// Per-worker scratch: score tile, quantized P and Q, rel-pos rows.
    let perWorker: [AlignedBuffer]
    /// Per-worker kernel status, checked after a parallel loop (a C kernel
    /// rejecting arguments is a bug that must surface as an error, not a trap).
    let status: UnsafeMutablePointer<Int32>
    let workers: Int

    init(workers: Int) {
        self.workers = workers
        perWorker = (0..<workers).map { _ in AlignedBuffer() }
        status = .allocate(capacity: workers)
        status.initialize(repeating: 0, count: workers)
    }

    deinit { status.deallocate() }

    func resetStatus() { status.update(repeating: 0, count: workers) }

    /// The first nonzero kernel status recorded since `resetStatus`.
    var failed: Bool { (0..<workers).contains { status[$0] != 0 } }
}
