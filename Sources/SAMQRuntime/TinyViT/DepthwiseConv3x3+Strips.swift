import CKernels
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// TinyViT runs its depthwise convs over strips of rows (so the 4×-wide
/// hidden maps are never whole): the kernel's strip mode, split over the pool.
extension DepthwiseConv3x3 {
    /// Calls `body` with kernel arguments whose weights, bias and channel
    /// count are set (valid only inside `body`).
    func withArguments<R>(_ body: (samq_dwconv3x3_args) throws -> R) rethrows -> R {
        try packedWeight.withUnsafeBufferPointer { w in
            let b = bias ?? []
            return try b.withUnsafeBufferPointer { bp in
                var a = samq_dwconv3x3_args()
                a.C = channels
                a.w = w.baseAddress
                a.bias = bias == nil ? nil : bp.baseAddress
                return try body(a)
            }
        }
    }

    /// Output rows `outputRows` of the conv over a map of `height` rows, into
    /// `output` (row `outputRows.lowerBound` first). `input` holds the map's
    /// rows `inputRows` (`lowerBound` a multiple of `stride`), which must
    /// contain every row those outputs read except the map's zero padding.
    /// Every output row of the strip `inputRows` (`lowerBound` a multiple of
    /// `stride`) into `output`, which holds `outputSize(inputRows.count)` rows;
    /// returns the map row of the first. Rows next to a cut that is not the
    /// map's edge are not exact: the caller uses only the ones inside.
    func runWholeStrip(input: UnsafePointer<Float>, inputRows: Range<Int>, width: Int, stride: Int,
                       output: UnsafeMutablePointer<Float>, gelu: Bool, isa: KernelISA, pool: ThreadPool) throws -> Int {
        let stripRows = Self.outputSize(inputRows.count, stride: stride)
        let first = inputRows.lowerBound / stride
        guard inputRows.lowerBound % stride == 0 else {
            throw SAMRuntimeError.invalidConfig("depthwise strip \(inputRows) does not start on a stride multiple")
        }
        try run(input: input, inputRows: inputRows, height: inputRows.upperBound, width: width, stride: stride,
                output: output, outputRows: first..<(first + stripRows), gelu: gelu, isa: isa, pool: pool,
                exactness: false)
        return first
    }

    func run(input: UnsafePointer<Float>, inputRows: Range<Int>, height: Int, width: Int, stride: Int,
             output: UnsafeMutablePointer<Float>, outputRows: Range<Int>, gelu: Bool,
             isa: KernelISA = .best, pool: ThreadPool = .shared, scratch: StripScratch? = nil,
             exactness: Bool = true) throws {
        guard !outputRows.isEmpty else { return }
        let ow = Self.outputSize(width, stride: stride), rowSize = ow * channels
        let first = inputRows.lowerBound / stride
        let covered = (outputRows.lowerBound * stride - 1 >= inputRows.lowerBound || outputRows.lowerBound == 0)
            && min(height, (outputRows.upperBound - 1) * stride + 2) <= inputRows.upperBound
        guard inputRows.lowerBound % stride == 0, outputRows.lowerBound >= first, !exactness || covered else {
            throw SAMRuntimeError.invalidConfig("depthwise strip \(inputRows) does not cover output rows \(outputRows)")
        }
        // Local output row j of the strip is map row j + first. The kernel
        // wants room for all the strip's output rows (it checks that range for
        // overlap), so unless `output` is exactly that, go through scratch.
        let begin = outputRows.lowerBound - first, end = outputRows.upperBound - first
        let stripRows = Self.outputSize(inputRows.count, stride: stride)
        let direct = begin == 0 && end == stripRows
        let owned = direct || scratch != nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: stripRows * rowSize)
        defer { owned?.deallocate() }
        let scratch = direct ? nil : owned ?? scratch!.floats(.depthwise, stripRows * rowSize)
        var args = samq_dwconv3x3_args()
        args.H = inputRows.count; args.W = width; args.C = channels; args.stride = stride
        args.x = input
        args.y = scratch ?? output
        args.flags = gelu ? UInt32(SAMQ_DW_GELU) : 0
        let perTask = Self.rowsPerTask(outputRows: end - begin, outputsPerRow: rowSize, threads: pool.threads)
        let failures = KernelFailures()
        packedWeight.withUnsafeBufferPointer { w in
            let launch = { (bias: UnsafePointer<Float>?) in
                var template = args
                template.w = w.baseAddress
                template.bias = bias
                pool.parallelFor(count: (end - begin + perTask - 1) / perTask) { task, _ in
                    var a = template
                    a.y_begin = begin + task * perTask
                    a.y_end = min(end, a.y_begin + perTask)
                    if samq_dwconv3x3(isa.raw, &a) != 0 { failures.add() }
                }
            }
            if let bias { bias.withUnsafeBufferPointer { launch($0.baseAddress) } } else { launch(nil) }
        }
        if failures.count > 0 {
            throw SAMRuntimeError.invalidConfig("the depthwise kernel rejected a \(inputRows.count)×\(width)×\(channels) strip")
        }
        if let scratch { output.update(from: scratch + begin * rowSize, count: (end - begin) * rowSize) }
    }
}
