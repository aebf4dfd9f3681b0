import CKernels
import SAMQFormat

/// `nn.Conv2d` (square kernel, no dilation, no groups) in W8A8 as im2col +
/// `QuantizedLinear`, on channels-last activations `[H][W][Cin]` → `[OH][OW][Cout]`.
///
/// A 1×1 stride-1 conv (the neck's first conv) is the linear itself. Larger
/// kernels keep their weight in tap-major order (k = (ky·kw + kx)·cin + c,
/// reordered once at load from PyTorch's c·kh·kw + ky·kw + kx), so an im2col
/// row is `kh` contiguous runs of the channels-last input instead of a
/// transposing gather (a per-value Swift loop that was most of the stem's
/// second conv). Reordering k in both operands changes nothing: a row's
/// quantization sees the same values (same maximum, same codes) and its int32
/// dot products are the same integers, so the bits are the PyTorch-order
/// GEMM's. Each task gathers, quantizes and multiplies its own tile of output
/// pixels in worker-local buffers that stay in L2 (one parallel loop per call,
/// no image-sized column buffer).
public struct QuantizedConv2d: @unchecked Sendable {
    /// The conv as a GEMM; for kernels above 1 its weight is in tap-major order.
    public let linear: QuantizedLinear
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    /// Output pixels per task (a multiple of the VNNI tile's 12 rows); 0 picks
    /// one from K so a task's f32 rows stay under 256 KB.
    public var chunkRows = 0

    public init(weight: PackedInt8Matrix, bias: [Float]?, inChannels: Int, kernel: Int, stride: Int = 1,
                padding: Int = 0, context: Int8Context) throws(Int8RuntimeError) {
        guard kernel > 0, stride > 0, padding >= 0, inChannels > 0, weight.k == inChannels * kernel * kernel else {
            throw .invalidConfiguration("conv weight '\(weight.name)' has k = \(weight.k), expected \(inChannels)·\(kernel)·\(kernel)")
        }
        let gemmWeight = kernel == 1 ? weight : Self.tapMajor(weight, inChannels: inChannels, taps: kernel * kernel)
        linear = try QuantizedLinear(weight: gemmWeight, bias: bias, context: context)
        self.inChannels = inChannels
        outChannels = weight.n
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    /// Mirrors the f32 `Conv2d` initializer.
    init(weights: WeightProvider, prefix: String, inChannels: Int, outChannels: Int, kernel: Int,
         stride: Int = 1, padding: Int = 0, bias hasBias: Bool = true, context: Int8Context) throws {
        let matrix = try PackedInt8Matrix(weights: weights, name: prefix + ".weight", view: .conv,
                                          shape: [outChannels, inChannels, kernel, kernel])
        let bias = hasBias ? try weights.tensor(prefix + ".bias", shape: [outChannels]) : nil
        try self.init(weight: matrix, bias: bias, inChannels: inChannels, kernel: kernel, stride: stride,
                      padding: padding, context: context)
    }

    /// `weight` (k in PyTorch's c·taps + t order) repacked with k = t·cin + c:
    /// the same codes, scales and column sums.
    static func tapMajor(_ weight: PackedInt8Matrix, inChannels cin: Int, taps: Int) -> PackedInt8Matrix {
        let n = weight.n, k = weight.k, kp = weight.layout.paddedK
        var codes = [Int8](repeating: 0, count: n * k)
        // The packed layout (`PackedInt8Layout.offset`) read directly: 590 K
        // values for vit_t's neck, which per-value calls made ~2 ms of load time.
        let packed = weight.payload.assumingMemoryBound(to: Int8.self)
        codes.withUnsafeMutableBufferPointer { out in
            for o in 0..<n {
                let column = packed + (o >> 4) * kp * 16 + (o & 15) * 4
                for c in 0..<cin {
                    for t in 0..<taps {
                        let j = c * taps + t
                        out[o * k + t * cin + c] = column[(j >> 2) * 64 + (j & 3)]
                    }
                }
            }
        }
        let scales = Array(weight.scales)
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: weight.layout.totalBytes, alignment: 64)
        samq_pack_weights_i8(codes, scales, n, k, bytes)
        return PackedInt8Matrix(adopting: bytes, layout: weight.layout, name: weight.name)
    }

    public func outputSize(_ input: Int) -> Int { (input + 2 * padding - kernel) / stride + 1 }

    /// `x` is channels-last `[height][width][inChannels]`; returns `[outH][outW][outChannels]`.
    public func callAsFunction(_ x: [Float], height: Int, width: Int,
                               activation: FusedActivation = .none) throws(Int8RuntimeError) -> [Float] {
        guard height > 0, width > 0, x.count == height * width * inChannels else {
            throw .shapeMismatch(what: "conv input", expected: max(height, 0) * max(width, 0) * inChannels, actual: x.count)
        }
        if kernel == 1 && stride == 1 && padding == 0 {
            guard outputSize(height) > 0, outputSize(width) > 0 else {
                throw .invalidConfiguration("conv output of \(height)×\(width) is empty")
            }
            return try linear(x, activation: activation)
        }
        return try x.withUnsafeBufferPointer { (source) throws(Int8RuntimeError) in
            try forward(source.baseAddress!, height: height, width: width, activation: activation)
        }
    }

    /// The same from `x`, pointing at `height · width · inChannels` values (a
    /// caller's strip buffer, not copied into an array first).
    public func forward(_ x: UnsafePointer<Float>, height: Int, width: Int,
                        activation: FusedActivation = .none) throws(Int8RuntimeError) -> [Float] {
        let oh = outputSize(height), ow = outputSize(width)
        guard height > 0, width > 0, oh > 0, ow > 0 else {
            throw .invalidConfiguration("conv output of \(height)×\(width) is empty")
        }
        return try makeFloatArray(count: oh * ow * outChannels) { (out) throws(Int8RuntimeError) in
            try forward(x, height: height, width: width, outputRows: 0..<oh, into: out, activation: activation)
        }
    }

    /// Output rows `outputRows` (`[rows][outW][outChannels]`) into `output`.
    public func forward(_ x: UnsafePointer<Float>, height: Int, width: Int, outputRows: Range<Int>,
                        into output: UnsafeMutablePointer<Float>,
                        activation: FusedActivation = .none) throws(Int8RuntimeError) {
        let oh = outputSize(height), ow = outputSize(width)
        guard height > 0, width > 0, oh > 0, ow > 0, outputRows.lowerBound >= 0, outputRows.upperBound <= oh else {
            throw .invalidConfiguration("conv rows \(outputRows) of a \(height)×\(width) input")
        }
        guard !outputRows.isEmpty else { return }
        if kernel == 1 && stride == 1 && padding == 0 {
            try linear.forward(rows: outputRows.count * ow, input: x + outputRows.lowerBound * width * inChannels,
                               ldx: inChannels, output: output, ldo: outChannels, activation: activation)
            return
        }
        let (cin, k, s, p) = (inChannels, kernel, stride, padding)
        let kk = linear.inFeatures, n = outChannels, kp = linear.weight.layout.paddedK
        let context = linear.context, isa = context.isa, pool = context.pool, space = context.workspace
        let pixels = outputRows.count * ow, firstPixel = outputRows.lowerBound * ow
        let tile = tileRows(pixels: pixels, threads: pool.threads)
        let floatBytes = roundUp(tile * kk * 4, 64), codeBytes = roundUp(tile * kp, 64)
        let workerBytes = floatBytes + codeBytes + roundUp(tile * 4, 64)
        let buffers = space.perWorker.map { $0.reserve(bytes: workerBytes) }
        let payload = linear.weight.payload, gelu = activation == .gelu
        space.resetStatus()
        withOptionalPointer(linear.bias) { bias in
            pool.parallelFor(count: (pixels + tile - 1) / tile) { task, worker in
                let p0 = task * tile, rows = min(pixels, p0 + tile) - p0
                let columns = buffers[worker].bindMemory(to: Float.self, capacity: tile * kk)
                let codes = (buffers[worker] + floatBytes).bindMemory(to: Int8.self, capacity: tile * kp)
                let scales = (buffers[worker] + floatBytes + codeBytes).bindMemory(to: Float.self, capacity: tile)
                for r in 0..<rows {
                    let pixel = firstPixel + p0 + r, oy = pixel / ow, ox = pixel % ow
                    // Taps kx = 0..<k of one kernel row are k consecutive input
                    // pixels: one contiguous run between the zero-padding ones.
                    let x0 = ox * s - p, lo = max(0, -x0), hi = min(k, width - x0)
                    var dst = columns + r * kk
                    for ky in 0..<k {
                        let iy = oy * s + ky - p
                        if iy < 0 || iy >= height || lo >= hi {
                            dst.update(repeating: 0, count: k * cin)
                        } else {
                            if lo > 0 { dst.update(repeating: 0, count: lo * cin) }
                            (dst + lo * cin).update(from: x + (iy * width + x0 + lo) * cin, count: (hi - lo) * cin)
                            if hi < k { (dst + hi * cin).update(repeating: 0, count: (k - hi) * cin) }
                        }
                        dst += k * cin
                    }
                }
                samq_quantize_rows(isa.raw, columns, rows, kk, kk, codes, kp, scales)
                let out = output + (p0 * n)
                let status = Int8GEMM.run(isa: isa, m: rows, n: n, k: kk, a: codes, lda: kp, rowScales: scales,
                                          weights: payload, bias: bias, residual: nil, ldr: 0,
                                          c: out, ldc: n, gelu: gelu, rows: 0..<rows, columns: 0..<n)
                if status != 0 { space.status[worker] = status }
                if activation == .relu { Int8GEMM.relu(out, ldc: n, rows: 0..<rows, columns: 0..<n) }
            }
        }
        if space.failed { throw .kernelRejected("conv gemm for '\(linear.weight.name)' (\(pixels)×\(n)×\(kk))") }
    }

    /// Pixels per task: `chunkRows` if set, else at most 256 KB of f32 rows in
    /// whole 12-row tiles, fewer if that leaves under four tasks per thread.
    func tileRows(pixels: Int, threads: Int) -> Int {
        if chunkRows > 0 { return chunkRows }
        let byCache = max(12, (64 * 1024 / max(linear.inFeatures, 1)) / 12 * 12)
        let byBalance = roundUp(max(1, (pixels + 4 * threads - 1) / (4 * threads)), 12)
        return max(12, min(byCache, byBalance))
    }
}
