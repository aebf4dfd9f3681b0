import SAMQFormat
import SAMQRuntime

/// `--reference-embedding` and `--reference-logits`: MODEL against outputs
/// saved elsewhere, typically by the official PyTorch package
/// (`predictor.get_image_embedding()`, `low_res_masks`), on the single image.
enum EvalReferenceFiles {
    /// Compares the current image's embedding with a 1×C×H×W (or C×H×W) `.npy`.
    static func embedding(_ path: String, predictor: SamPredictor) throws -> EvalReport.ReferenceEmbedding {
        let shape = predictor.imageEncoder.outputShape
        let array = try NumPyArray.read(path: path, maxDataBytes: shape.reduce(1, *) * 8)
        guard array.shape == [1] + shape || array.shape == shape else {
            throw CLIError("\(path) has shape \(array.shape), but MODEL's embedding is \([1] + shape)")
        }
        let comparison = try TensorComparison(model: try predictor.imageEmbedding(), reference: array.values,
                                              what: "reference embedding")
        return .init(file: path, comparison: .init(comparison))
    }

    /// Compares MODEL's low-res logits for one prompt with a C×L×L (or
    /// 1×C×L×L) `.npy`. C = 1 means the reference was single-mask
    /// (`multimask_output=False`), anything else multimask.
    static func logits(_ path: String, predictor: SamPredictor, points: [PointArgument], box: [Float]?) throws -> EvalReport.ReferenceLogits {
        let side = predictor.config.lowResMaskSize
        let array = try NumPyArray.read(path: path, maxDataBytes: SegmentCommand.maxMaskInputChannels * side * side * 8)
        let plane = side * side
        guard array.shape.count >= 3, array.shape.suffix(2) == [side, side], !array.values.isEmpty else {
            throw CLIError("\(path) has shape \(array.shape); reference logits must be C×\(side)×\(side) (MODEL's low-res size)")
        }
        let channels = array.values.count / plane
                let decoded = try predictor.predictLowResolution(points: points.map { (x: $0.x, y: $0.y) }, labels: points.map(\.label), box: box,
                                                         multimask: channels != 1)
        guard decoded.maskCount == channels else {
            throw CLIError("\(path) holds \(channels) mask(s), MODEL predicts \(decoded.maskCount) for this prompt")
        }
        let comparison = try TensorComparison(model: decoded.logits, reference: array.values, what: "reference logits")
        return .init(file: path, points: points.map { [$0.x, $0.y, Float($0.label)] }, box: box, masks: channels,
                     comparison: .init(comparison))
    }
}
