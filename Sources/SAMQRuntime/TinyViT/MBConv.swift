import CKernels
import SAMQFormat

/// TinyViT's `MBConv` (stage 0): 1×1 expand + GELU, depthwise 3×3 + GELU,
/// 1×1 project, residual add, GELU; every BatchNorm folded by the converter.
///
/// Works on strips of rows (`rows(...)`), so the 4×-wide hidden map is never
/// whole (vit_t: 256×256×256 f32 would be 64 MB); `StageZeroPipeline` chains
/// the strips of the whole stage.
struct MBConv {
    let conv1: TokenLinear
    let conv2: DepthwiseConv3x3
    let conv3: TokenLinear
    let channels: Int
    let hidden: Int
    let pool: ThreadPool
    let isa: KernelISA

    init(weights: WeightProvider, prefix: String, channels: Int, hidden: Int, context: Int8Context?) throws {
        conv1 = try TokenLinear(weights: weights, prefix: prefix + ".conv1", inputs: channels, outputs: hidden,
                                view: .conv, context: context)
        conv2 = try DepthwiseConv3x3(weights: weights, prefix: prefix + ".conv2", channels: hidden)
        conv3 = try TokenLinear(weights: weights, prefix: prefix + ".conv3", inputs: hidden, outputs: channels,
                                view: .conv, context: context)
        self.channels = channels
        self.hidden = hidden
        pool = context?.pool ?? .shared
        isa = context?.isa ?? .best
    }

    /// Output rows `outputRows` of the block over a `height × width` map, from
    /// `input` holding the map's rows `inputRows` (one more row on each side
    /// of `outputRows` unless at the map's edge), written to `output`
    /// (`outputRows.count × width × channels`; it must not overlap `input`).
    /// `uniform` (int8 path; f32 computes them): columns to copy, not compute.
    func rows(input: UnsafePointer<Float>, inputRows: Range<Int>, height: Int, width: Int,
              outputRows: Range<Int>, into output: UnsafeMutablePointer<Float>, scratch: StripScratch,
              carry: PointwiseDepthwiseColumns.Carry? = nil, uniform: PointwiseDepthwiseColumns.Uniform? = nil) throws {
        if case let .int8(expand) = conv1, case let .int8(project) = conv3 {
            let chunked = PointwiseDepthwiseColumns(expand: expand, depthwise: conv2, project: project, shortcut: true)
            try chunked.rows(input: input, inputRows: inputRows, width: width, outputRows: outputRows, into: output,
                             scratch: scratch, carry: carry, uniform: uniform)
            return
        }
        let expanded = scratch.floats(.expanded, inputRows.count * width * hidden)
        let strip = scratch.floats(.middle, inputRows.count * width * hidden)
        try conv1.forward(rows: inputRows.count * width, input: input, output: expanded, gelu: true)
        // The whole strip's depthwise rows (two inexact edge rows are cheaper than a copy).
        let first = try conv2.runWholeStrip(input: expanded, inputRows: inputRows, width: width, stride: 1,
                                            output: strip, gelu: true, isa: isa, pool: pool)
        let middle = strip + (outputRows.lowerBound - first) * width * hidden
        // conv3(...) + the shortcut rows (read in place), then GELU.
        let n = outputRows.count * width * channels
        guard n > 0 else { return }
        let shortcut = input + (outputRows.lowerBound - inputRows.lowerBound) * width * channels
        try conv3.forward(rows: outputRows.count * width, input: middle, output: output, residual: shortcut)
        gelu(output, count: n)
    }

    /// GELU over a strip with the C kernel (the GEMM epilogue's GELU, bit-exact
    /// on every ISA), split over the workers.
    func gelu(_ p: UnsafeMutablePointer<Float>, count: Int) {
        let chunk = 1 << 14
        Parallel.forEach(tasks: (count + chunk - 1) / chunk) { t, _ in
            samq_gelu_inplace(isa.raw, p + t * chunk, min(chunk, count - t * chunk))
        }
    }
}
