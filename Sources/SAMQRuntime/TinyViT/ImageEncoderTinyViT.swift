#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQFormat
import SAMQImage

/// MobileSAM's image encoder (`mobile_sam.modeling.TinyViT`): conv stem,
/// an MBConv stage, then TinyViT stages of windowed attention, joined by
/// PatchMerging, and SAM's neck. BatchNorms arrive folded from the converter.
///
/// Input: the preprocessed `3 × S × S` tensor. Output: `C × g × g`, g = S/16.
/// Weights stay resident (vit_t is 5 M parameters).
public final class ImageEncoderTinyViT: ImageEncoding {
    public let config: ModelConfig
    public let precision: EncoderPrecision
    public var progress: ((_ completedBlocks: Int, _ totalBlocks: Int) -> Void)?
    /// Pixels per strip of the strip-wise layers (stage 0, merges, local
    /// convs): the working-memory knob. Results do not depend on it.
    var stripPixels = 256
    /// Stage 0 copies the rows and pixels that read only the input's zero
    /// padding instead of computing them (`UniformBand`); tests turn it off
    /// to check that the bits are the same.
    var copiesUniformRegions = true
    /// Buffers reused across strips and blocks; `lock` serializes encodes.
    let scratch = StripScratch()
    let lock = Lock()
    let int8: Int8Context?
    /// Stem, MBConv blocks and the first merge.
    let stageZero: StageZeroPipeline
    /// TinyViT blocks of stages 1...
    let stages: [[TinyViTBlock]]
    /// The merges after stages 1... (all but the last).
    let merges: [PatchMerging]
    let neckConv1: NeckConv
    let neckNorm1: LayerNorm
    let neckConv2: NeckConv
    let neckNorm2: LayerNorm

    public init(weights: WeightProvider, precision: EncoderPrecision? = nil) throws {
        let config = weights.config
        let e = config.imageEncoder
        guard e.isTinyViT, let t = e.tinyViT else {
            throw SAMRuntimeError.invalidConfig("image encoder kind '\(e.kind)' is not 'tiny_vit'")
        }
        do { try SAMSchema.validate(config) } catch { throw SAMRuntimeError.invalidConfig("\(error)") }
        self.config = config
        let precision = try precision ?? EncoderPrecision.automatic(for: weights)
        self.precision = precision
        let int8 = precision == .int8 ? try Int8Context.fromEnvironment() : nil
        self.int8 = int8
        let stem = try ConvStem(weights: weights, outChannels: t.embedDims[0], inChannels: e.inChans, context: int8)
        let mbconvs = try (0..<t.depths[0]).map {
            try MBConv(weights: weights, prefix: "image_encoder.layers.0.blocks.\($0)", channels: t.embedDims[0],
                       hidden: t.mbconvHidden, context: int8)
        }
        stages = try (1..<t.stageCount).map { s in
            try (0..<t.depths[s]).map { b in
                try TinyViTBlock(weights: weights, prefix: "image_encoder.layers.\(s).blocks.\(b)", dim: t.embedDims[s],
                                 heads: t.numHeads[s], window: t.windowSizes[s], mlpHidden: t.mlpHidden(stage: s),
                                 context: int8)
            }
        }
        let allMerges = try (0..<(t.stageCount - 1)).map { s in
            try PatchMerging(weights: weights, prefix: "image_encoder.layers.\(s).downsample", inChannels: t.embedDims[s],
                             outChannels: t.embedDims[s + 1], stride: t.mergeStrides[s], context: int8)
        }
        stageZero = StageZeroPipeline(stem: stem, blocks: mbconvs, merge: allMerges[0])
        merges = Array(allMerges.dropFirst())
        let last = t.embedDims[t.stageCount - 1]
        func neckContext(_ prefix: String) -> Int8Context? {
            TokenLinear.isStoredInt8(weights, prefix + ".weight") ? int8 : nil
        }
        neckConv1 = try NeckConv(weights: weights, prefix: "image_encoder.neck.0", inChannels: last,
                                 outChannels: e.outChans, kernel: 1, context: neckContext("image_encoder.neck.0"))
        neckNorm1 = try LayerNorm(weights: weights, prefix: "image_encoder.neck.1", dimension: e.outChans,
                                  epsilon: LayerNorm.layerNorm2dEpsilon)
        neckConv2 = try NeckConv(weights: weights, prefix: "image_encoder.neck.2", inChannels: e.outChans,
                                 outChannels: e.outChans, kernel: 3, context: neckContext("image_encoder.neck.2"))
        neckNorm2 = try LayerNorm(weights: weights, prefix: "image_encoder.neck.3", dimension: e.outChans,
                                  epsilon: LayerNorm.layerNorm2dEpsilon)
    }

    public var inputShape: [Int] {
        let e = config.imageEncoder
        return [e.inChans, e.imgSize, e.imgSize]
    }

    public var outputShape: [Int] {
        let e = config.imageEncoder
        return [e.outChans, e.gridSize, e.gridSize]
    }

    public func encode(_ input: [Float]) throws -> [Float] {
        try validated(input, keepStages: false).embedding
    }

    /// Encodes a resized (not padded) RGB image, normalizing it strip by strip
    /// inside the stem instead of building the `3 × S × S` tensor.
    public func encode(resizedImage image: RGBImage) throws -> [Float] {
        let e = config.imageEncoder
        guard image.width <= e.imgSize, image.height <= e.imgSize, e.inChans == 3 else {
            throw SAMRuntimeError.invalidImageSize("a \(image.width)×\(image.height) image does not fit the \(e.imgSize)×\(e.imgSize) input")
        }
        return try run(.image(image, mean: config.pixelMean, std: config.pixelStd), keepStages: false).embedding
    }

    /// The embedding plus each stage's output tokens (channels last), for tests.
    func encodeStages(_ input: [Float]) throws -> (embedding: [Float], stageOutputs: [[Float]]) {
        try validated(input, keepStages: true)
    }

    private func validated(_ input: [Float], keepStages: Bool) throws -> (embedding: [Float], stageOutputs: [[Float]]) {
        guard input.count == inputShape.reduce(1, *) else {
            throw SAMRuntimeError.inputShapeMismatch(what: "image tensor", expected: inputShape, actualCount: input.count)
        }
        guard input.allSatisfy({ $0.isFinite }) else { throw SAMRuntimeError.nonFiniteInput(what: "image tensor") }
        return try run(.tensor(input), keepStages: keepStages)
    }

    /// `keepStages` keeps every stage's output for the tests (MBs the encode itself does not need).
    private func run(_ input: StemInput, keepStages: Bool) throws -> (embedding: [Float], stageOutputs: [[Float]]) {
        lock.lock()
        defer { scratch.release(); lock.unlock() }
        let e = config.imageEncoder
        let total = stageZero.blocks.count + stages.reduce(0) { $0 + $1.count }
        var done = 0
        var (x, side) = try stageZero(input, size: e.imgSize, stripPixels: stripPixels, scratch: scratch,
                                          copiesUniformRegions: copiesUniformRegions) { blocks in
            done = blocks
            progress?(done, total)
        }
        scratch.release()   // stage 0's strip buffers are the largest
        var outputs: [[Float]] = keepStages ? [x] : []
        for (s, blocks) in stages.enumerated() {
            for block in blocks {
                try block.apply(&x, height: side, width: side, stripPixels: stripPixels, scratch: scratch)
                done += 1
                progress?(done, total)
            }
            if s < merges.count {
                let merged = try merges[s](x, height: side, width: side, stripPixels: stripPixels, scratch: scratch)
                side = merges[s].outputSize(side)
                x = merged
            }
            if keepStages { outputs.append(x) }
        }
        scratch.release()   // the attention and MLP buffers; the neck allocates its own
        guard side == e.gridSize else {
            throw SAMRuntimeError.invalidConfig("TinyViT ends at \(side)×\(side), the config's grid is \(e.gridSize)")
        }
        var y = try neckConv1(x, size: side)
        x = []   // the last stage's tokens are not needed any more
        let isa = int8?.isa ?? .best
        try y.withUnsafeMutableBufferPointer { try neckNorm1.applyRows($0.baseAddress!, into: $0.baseAddress!, rows: side * side, isa: isa) }
        y = try neckConv2(y, size: side)
        try y.withUnsafeMutableBufferPointer { try neckNorm2.applyRows($0.baseAddress!, into: $0.baseAddress!, rows: side * side, isa: isa) }
        return (Tensor.transpose(y, rows: side * side, cols: e.outChans), outputs)
    }
}
