import CKernels
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `nn.Conv2d(C, C, 3, stride: 1 or 2, padding: 1, groups: C)` in f32 on
/// channels-last activations `[H][W][C]` → `[OH][OW][C]`, with an optional
/// fused exact-erf GELU: TinyViT's MBConv, PatchMerging and `local_conv`
/// depthwise convs (BatchNorm folded into weight and bias by the converter).
///
/// Runs `samq_dwconv3x3` (SIMD for the CPU, bit-identical on every ISA), its
/// output rows split over the thread pool; results never depend on the ISA
/// or the thread count. GELU is the kernels' polynomial (< 2e-7 absolute
/// error against exact erf, the same one the GEMM epilogues use).
public struct DepthwiseConv3x3: Sendable {
    public let channels: Int
    /// Tap-major `[9][C]`: tap `ky·3 + kx` of channel `c` at `t·C + c`.
    let packedWeight: [Float]
    public let bias: [Float]?

    /// `weight` in PyTorch's layout `[C][1][3][3]`; `bias` `[C]` or nil.
    public init(weight: [Float], bias: [Float]?, channels: Int) throws(SAMRuntimeError) {
        guard channels > 0 else { throw .invalidConfig("a depthwise conv needs at least one channel, got \(channels)") }
        guard weight.count == channels * 9 else {
            throw .weightSizeMismatch(name: "depthwise 3×3 weight", expectedCount: channels * 9, actualCount: weight.count)
        }
        if let bias, bias.count != channels {
            throw .weightSizeMismatch(name: "depthwise 3×3 bias", expectedCount: channels, actualCount: bias.count)
        }
        var packed = [Float](repeating: 0, count: channels * 9)
        weight.withUnsafeBufferPointer { w in
            packed.withUnsafeMutableBufferPointer { p in samq_dwconv3x3_pack(w.baseAddress!, channels, p.baseAddress!) }
        }
        self.channels = channels
        packedWeight = packed
        self.bias = bias
    }

    /// Loads `prefix.weight` (`[C, 1, 3, 3]`) and `prefix.bias` (`[C]`).
    init(weights: WeightProvider, prefix: String, channels: Int, bias hasBias: Bool = true) throws {
        let weight = try weights.tensor(prefix + ".weight", shape: [channels, 1, 3, 3])
        let bias = hasBias ? try weights.tensor(prefix + ".bias", shape: [channels]) : nil
        try self.init(weight: weight, bias: bias, channels: channels)
    }

    /// Output size along one axis: `(n + 2 − 3) / stride + 1`.
    public static func outputSize(_ n: Int, stride: Int) -> Int { n > 0 && stride > 0 ? (n - 1) / stride + 1 : 0 }

    /// `x` is `[height][width][channels]`; returns `[outH][outW][channels]`.
    public func callAsFunction(_ x: [Float], height: Int, width: Int, stride: Int = 1, gelu: Bool = false,
                               isa: KernelISA = .best, pool: ThreadPool = .shared) throws(SAMRuntimeError) -> [Float] {
        guard height >= 0, width >= 0, x.count == height * width * channels else {
            throw .inputShapeMismatch(what: "depthwise conv input", expected: [max(height, 0), max(width, 0), channels],
                                      actualCount: x.count)
        }
        try validate(stride: stride, isa: isa)
        let count = Self.outputSize(height, stride: stride) * Self.outputSize(width, stride: stride) * channels
        guard count > 0 else { return [] }
        // Uninitialized: the kernel writes every element (a zero fill of a
        // 64 MB stage-0 activation would cost a pass over memory).
        var failure: SAMRuntimeError?
        let out = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            x.withUnsafeBufferPointer { input in
                do throws(SAMRuntimeError) {
                    try forward(input: input.baseAddress!, height: height, width: width, stride: stride, gelu: gelu,
                                output: buffer.baseAddress!, isa: isa, pool: pool)
                } catch { failure = error }
            }
            initialized = count
        }
        if let failure { throw failure }
        return out
    }

    /// The same with the kernel family and pool of an int8 context (which
    /// honours `SAMQ_ISA`).
    public func callAsFunction(_ x: [Float], height: Int, width: Int, stride: Int = 1, gelu: Bool = false,
                               context: Int8Context) throws(SAMRuntimeError) -> [Float] {
        try self(x, height: height, width: width, stride: stride, gelu: gelu, isa: context.isa, pool: context.pool)
    }

    /// Pointer-level forward into caller-owned memory: `input` holds
    /// `height·width·channels` floats, `output` `outH·outW·channels`; they
    /// must not overlap.
    public func forward(input: UnsafePointer<Float>, height: Int, width: Int, stride: Int, gelu: Bool,
                        output: UnsafeMutablePointer<Float>, isa: KernelISA, pool: ThreadPool) throws(SAMRuntimeError) {
        guard height >= 0, width >= 0 else { throw .invalidConfig("depthwise conv input of \(height)×\(width)") }
        try validate(stride: stride, isa: isa)
        let outH = Self.outputSize(height, stride: stride), outW = Self.outputSize(width, stride: stride)
        guard outH > 0, outW > 0 else { return }
        var args = samq_dwconv3x3_args()  // w and bias are set inside their pointer scopes
        args.H = height; args.W = width; args.C = channels; args.stride = stride
        args.x = input; args.y = output
        args.flags = gelu ? UInt32(SAMQ_DW_GELU) : 0
        let rowsPerTask = Self.rowsPerTask(outputRows: outH, outputsPerRow: outW * channels, threads: pool.threads)
        let failures = KernelFailures()
        packedWeight.withUnsafeBufferPointer { w in
            let run = { (bias: UnsafePointer<Float>?) in
                var template = args
                template.w = w.baseAddress
                template.bias = bias
                pool.parallelFor(count: (outH + rowsPerTask - 1) / rowsPerTask) { task, _ in
                    var a = template
                    a.y_begin = task * rowsPerTask
                    a.y_end = min(outH, a.y_begin + rowsPerTask)
                    if samq_dwconv3x3(isa.raw, &a) != 0 { failures.add() }
                }
            }
            if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
        }
        if failures.count > 0 {
            throw .invalidConfig("the depthwise kernel rejected \(height)×\(width)×\(channels) stride \(stride) (overlapping buffers?)")
        }
    }

    /// Output rows per pool task: about four tasks per thread for load
    /// balance, none smaller than ~16 K outputs (~10 µs of SIMD work, so
    /// the pool's per-task handoff stays small next to it).
    static func rowsPerTask(outputRows: Int, outputsPerRow: Int, threads: Int) -> Int {
        let tasks = max(1, min(outputRows, threads * 4, outputRows * outputsPerRow / 16_384))
        return (outputRows + tasks - 1) / tasks
    }

    private func validate(stride: Int, isa: KernelISA) throws(SAMRuntimeError) {
        guard stride == 1 || stride == 2 else { throw .invalidConfig("depthwise 3×3 stride must be 1 or 2, got \(stride)") }
        guard isa.isSupported else { throw .invalidConfig("kernel ISA '\(isa.name)' is not supported on this CPU") }
    }
}
