import Foundation
import SAMQFormat

/// TinyViT's `MBConv` (stage 0): 1×1 expand + GELU, depthwise 3×3 + GELU,
/// 1×1 project, residual add, GELU; every BatchNorm folded by the converter.
///
/// It runs in place over bands of rows, so the 4×-wide hidden map is never
/// whole (vit_t: 256×256×256 f32 would be 64 MB). The expanded rows a band
/// shares with the next (its last two) are carried over, because the input
/// rows they came from are overwritten by then.
struct MBConv {
    let conv1: TokenLinear
    let conv2: DepthwiseConv3x3
    let conv3: TokenLinear
    let channels: Int
    let hidden: Int

    init(weights: WeightProvider, prefix: String, channels: Int, hidden: Int, context: Int8Context?) throws {
        conv1 = try TokenLinear(weights: weights, prefix: prefix + ".conv1", inputs: channels, outputs: hidden,
                                view: .conv, context: context)
        conv2 = try DepthwiseConv3x3(weights: weights, prefix: prefix + ".conv2", channels: hidden)
        conv3 = try TokenLinear(weights: weights, prefix: prefix + ".conv3", inputs: hidden, outputs: channels,
                                view: .conv, context: context)
        self.channels = channels
        self.hidden = hidden
    }

    /// `x` is `[height][width][channels]`, replaced by the block's output.
    func apply(_ x: inout [Float], height: Int, width: Int) throws {
        precondition(x.count == height * width * channels, "internal MBConv input of the wrong size")
        let band = max(1, min(height, 2048 / max(width, 1)))
        let rowSize = width * hidden
        let expanded = UnsafeMutablePointer<Float>.allocate(capacity: (band + 2) * rowSize)
        let middle = UnsafeMutablePointer<Float>.allocate(capacity: band * rowSize)
        defer { expanded.deallocate(); middle.deallocate() }
        var first = 0, count = 0      // expanded holds map rows first..<first+count
        try x.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            var r0 = 0
            while r0 < height {
                let r1 = min(height, r0 + band)
                let need = max(0, r0 - 1)..<min(height, r1 + 1)
                if count > 0 {
                    let drop = need.lowerBound - first
                    memmove(expanded, expanded + drop * rowSize, (count - drop) * rowSize * MemoryLayout<Float>.stride)
                    count -= drop
                }
                first = need.lowerBound
                let fresh = (first + count)..<need.upperBound
                try conv1.forward(rows: fresh.count * width, input: base + fresh.lowerBound * width * channels,
                                  output: expanded + count * rowSize, gelu: true)
                count = need.count
                conv2.run(input: expanded, inputFirstRow: first, height: height, width: width,
                          output: middle, outputRows: r0..<r1, gelu: true)
                // x rows r0..<r1 are the shortcut: x = shortcut + conv3(...), then GELU.
                let out = base + r0 * width * channels
                try conv3.forward(rows: (r1 - r0) * width, input: middle, output: out, accumulate: true)
                let n = (r1 - r0) * width * channels
                Self.gelu(out, count: n)
                r0 = r1
            }
        }
    }

    /// GELU over a band, vectorized and split over the workers.
    static func gelu(_ p: UnsafeMutablePointer<Float>, count: Int) {
        let chunk = 1 << 14
        Parallel.forEach(tasks: (count + chunk - 1) / chunk) { t, _ in
            DecoderGELU.apply(p + t * chunk, count: min(chunk, count - t * chunk))
        }
    }
}
