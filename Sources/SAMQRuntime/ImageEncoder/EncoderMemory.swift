import SAMQFormat

/// The image encoder's memory by residency, from the model's config and
/// tensor table alone (nothing is read): the formula documented in
/// docs/MEMORY.md, used by `--memory-budget` to pick a mode before loading.
public struct EncoderMemoryEstimate: Sendable, Equatable {
    /// Peak activations: residual stream, input tensor, the largest block
    /// intermediates (grow-only buffers reused by every block), scratch.
    public let activationBytes: Int
    /// Decoded weights of the whole encoder.
    public let residentWeightBytes: Int
    /// Two arena slots (the largest block, twice) plus the neck.
    public let streamedWeightBytes: Int

    public var resident: Int { activationBytes + residentWeightBytes }
    public var streamed: Int { activationBytes + streamedWeightBytes }

    public init(file: SAMQFile, precision: EncoderPrecision, threads: Int) {
        let e = file.config.imageEncoder
        let int8 = precision == .int8
        var blockBytes = [Int](repeating: 0, count: e.depth)
        var total = 0, neck = 0, stored = 0
        for entry in file.entries where entry.name.hasPrefix("image_encoder.") {
            stored += entry.storedSize
            // int8 keeps packed payloads as stored; everything else is f32 in memory.
            let bytes = int8 && entry.layout == .packedInt8 ? entry.rawSize : 4 * entry.elementCount
            total += bytes
            if let block = EncoderBlockNames.blockIndex(of: entry.name), block < e.depth { blockBytes[block] += bytes }
            if entry.name.hasPrefix("image_encoder.neck.") { neck += bytes }
        }
        if e.isTinyViT, let tiny = e.tinyViT {
            // TinyViT always holds its weights (5 M parameters for vit_t): the
            // "streamed" mode is the resident one, and the ViT block formulas
            // (a global attention over the whole grid) do not describe it.
            // The mapped file pages its load reads stay in the RSS too
            // (measured: an f32 vit_t `samq encode` peaks at 92 MB, 46 MB
            // above the int8 one, whose file is 21 MB smaller).
            streamedWeightBytes = total + stored
            residentWeightBytes = total + stored
            activationBytes = Self.tinyViTActivations(e, tiny, threads: threads)
            return
        }
        residentWeightBytes = total
        streamedWeightBytes = 2 * (blockBytes.max() ?? 0) + neck
        activationBytes = int8 ? Self.int8Activations(e, threads: threads) : Self.float32Activations(e)
    }

    /// TinyViT runs stage 0 and its merge in strips, then keeps one stage map
    /// at a time, so its peak is two maps side by side (a merge's input and
    /// output, stage 0's merged output while its strips run, or the neck's
    /// convolutions), plus each worker's strip buffers. Both precisions use
    /// the same buffers (see docs/MEMORY.md).
    static func tinyViTActivations(_ e: ModelConfig.ImageEncoder, _ t: ModelConfig.TinyViT, threads: Int,
                                   stripPixels: Int = 256) -> Int {
        let side = t.resolutions(imgSize: e.imgSize)
        let map = { (stage: Int) in side[stage] * side[stage] * t.embedDims[stage] }
        let widest = max(3 * t.mbconvHidden, (1..<t.stageCount).map { t.mlpHidden(stage: $0) }.max() ?? 0)
        let strips = max(1, threads) * stripPixels * widest
        var pair = map(1)   // stage 0's merged output while its strips run (configs have ≥ 2 stages)
        for s in stride(from: 1, to: t.stageCount - 1, by: 1) { pair = max(pair, map(s) + map(s + 1)) }
        let grid = e.gridSize * e.gridSize
        let neck = max(grid * (t.embedDims[t.stageCount - 1] + e.outChans), 2 * grid * e.outChans)
        return 4 * (max(pair, neck) + strips) + tinyViTSlackBytes
    }

    /// Calibration, like the CLI's process term: the f32 path's 512-token MLP
    /// chunks and allocator slack, so the estimate stays at or above the
    /// measured peaks of int8 and f32 vit_t (docs/MEMORY.md).
    static let tinyViTSlackBytes = 4_000_000

    /// See docs/MEMORY.md: x + input + wide + narrow + quantized activations
    /// + attention chunk + per-worker tiles.
    static func int8Activations(_ e: ModelConfig.ImageEncoder, threads: Int) -> Int {
        let n = e.gridSize * e.gridSize, d = e.embedDim, m = e.mlpDim, hd = e.headDim
        let tile = min(n, Int8ViTBlock.rowTile)
        let hasGlobal = e.windowSize == 0 || !e.globalAttnIndexes.isEmpty
        let hasWindowed = e.windowSize > 0 && e.globalAttnIndexes.count < e.depth
        var wide = tile * m, narrow = tile * d, quantized = tile * roundUp(m, 8)
        var attention = 0
        if hasGlobal {
            wide = max(wide, n * 3 * d)
            quantized = max(quantized, n * roundUp(d, 8))
            let unit = 2 * n * roundUp(hd, 8) + (e.useRelPos ? 2 * n * e.gridSize * 4 : 0)
            let units = max(1, min(e.numHeads, max(threads, (8 << 20) / max(unit, 1))))
            attention = max(attention, units * unit)
        }
        if hasWindowed {
            let across = (e.gridSize + e.windowSize - 1) / e.windowSize, perWindow = e.windowSize * e.windowSize
            let bandRows = max(1, Int8ViTBlock.rowTile / (across * perWindow)) * across * perWindow
            wide = max(wide, bandRows * 3 * d)
            narrow = max(narrow, bandRows * d)
            quantized = max(quantized, bandRows * roundUp(d, 8))
            attention = max(attention, min(8 << 20, bandRows / perWindow * e.numHeads * 2 * perWindow * (roundUp(hd, 8) + 8)))
        }
        let attendedSide = hasGlobal ? n : e.windowSize * e.windowSize
        let perWorker = threads * (4 * 32 * roundUp(attendedSide, 16) + 32 * roundUp(attendedSide, 64) + 4 * 32 * hd)
        return 4 * n * d + 4 * e.inChans * e.imgSize * e.imgSize + 4 * wide + 4 * narrow + quantized + attention + perWorker
    }

    /// The f32 reference block keeps whole-tensor intermediates: normed,
    /// partitioned and attended tokens, qkv and the MLP hidden layer.
    static func float32Activations(_ e: ModelConfig.ImageEncoder) -> Int {
        let n = e.gridSize * e.gridSize
        let padded = e.windowSize > 0 ? roundUp(e.gridSize, e.windowSize) * roundUp(e.gridSize, e.windowSize) : n
        return 4 * (n * e.embedDim + e.inChans * e.imgSize * e.imgSize + padded * (5 * e.embedDim + e.mlpDim))
    }
}
