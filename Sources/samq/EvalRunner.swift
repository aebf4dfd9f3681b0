#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import SAMQImage
import SAMQRuntime
import SAMQCLISupport

/// Runs a model and its reference on the same images and the same seeded
/// prompts, and gathers what `samq eval` reports.
struct EvalRunner {
    let model: SamPredictor
    let reference: SamPredictor
    let sampler: PromptSampler
    let promptsPerImage: Int
    let progress: ProgressLine

    /// Both models must produce embeddings and masks of one shape, or no
    /// element-wise comparison means anything.
    static func checkCompatible(model: SamPredictor, reference: SamPredictor) throws {
        let m = model.config, r = reference.config
        guard m.imageEncoder.imgSize == r.imageEncoder.imgSize else {
            throw CLIError("the models differ in image size: MODEL takes \(m.imageEncoder.imgSize)×\(m.imageEncoder.imgSize), REFERENCE \(r.imageEncoder.imgSize)×\(r.imageEncoder.imgSize); eval compares two versions of one model")
        }
        guard model.imageEncoder.outputShape == reference.imageEncoder.outputShape else {
            throw CLIError("the models differ in embedding shape: MODEL \(model.imageEncoder.outputShape), REFERENCE \(reference.imageEncoder.outputShape); eval compares two versions of one model")
        }
        guard m.lowResMaskSize == r.lowResMaskSize else {
            throw CLIError("the models differ in low-res mask size: MODEL \(m.lowResMaskSize), REFERENCE \(r.lowResMaskSize)")
        }
    }

    /// Everything measured on one image.
    struct ImageResult {
        var embedding: TensorComparison
        var cases: [EvalReport.Case]
        var iouErrors: [Double]
        var encoderMs: (model: Double, reference: Double)
        var decoderMs: (model: [Double], reference: [Double])
    }

    func evaluate(image picture: RGBImage, index: Int, of imageCount: Int) throws -> ImageResult {
        progress.update("image \(index + 1)/\(imageCount): encoding")
        let modelEncodeMs = try Self.timed { try model.setImage(picture) }
        let referenceEncodeMs = try Self.timed { try reference.setImage(picture) }
        let embedding = try TensorComparison(model: try model.imageEmbedding(), reference: try reference.imageEmbedding(),
                                             what: "image embedding")

        var result = ImageResult(embedding: embedding, cases: [], iouErrors: [],
                                 encoderMs: (modelEncodeMs, referenceEncodeMs), decoderMs: ([], []))
        let prompts = sampler.prompts(count: promptsPerImage, width: picture.width, height: picture.height, imageIndex: index)
        for (number, prompt) in prompts.enumerated() {
            progress.update("image \(index + 1)/\(imageCount): prompt \(number + 1)/\(prompts.count)")
            let (modelPrediction, modelMs) = try Self.decode(model, prompt)
            let (referencePrediction, referenceMs) = try Self.decode(reference, prompt)
            result.decoderMs.model.append(modelMs)
            result.decoderMs.reference.append(referenceMs)
            guard modelPrediction.maskCount == referencePrediction.maskCount else {
                throw CLIError("MODEL predicts \(modelPrediction.maskCount) masks per prompt, REFERENCE \(referencePrediction.maskCount)")
            }
            let plane = modelPrediction.height * modelPrediction.width
            func masks(_ p: Prediction, _ k: Int) -> ArraySlice<UInt8> { p.masks[(k * plane)..<((k + 1) * plane)] }
            let count = modelPrediction.maskCount
            let byMask = try (0..<count).map { k in try maskIoU(masks(modelPrediction, k), masks(referencePrediction, k)) }
            let modelBest = Self.best(modelPrediction.iouPredictions)
            let referenceBest = Self.best(referencePrediction.iouPredictions)
            let bestIoU = try maskIoU(masks(modelPrediction, modelBest), masks(referencePrediction, referenceBest))
            result.iouErrors += zip(modelPrediction.iouPredictions, referencePrediction.iouPredictions)
                .map { Double(abs($0 - $1)) }
            result.cases.append(EvalReport.Case(
                image: index, kind: prompt.kind, point: prompt.point, box: prompt.box, bestMaskIoU: bestIoU,
                maskIoU: byMask, modelBest: modelBest, referenceBest: referenceBest,
                modelIoUPredictions: modelPrediction.iouPredictions,
                referenceIoUPredictions: referencePrediction.iouPredictions))
        }
        return result
    }

    /// Masks for one prompt (multimask, as SAM's demo asks), and the decoder
    /// time measured as `samq bench` does: prompt encoder + mask decoder
    /// (`predictLowResolution`), without the upscaling to the image that
    /// `predict` adds for the masks compared here.
    static func decode(_ predictor: SamPredictor, _ prompt: EvaluationPrompt) throws -> (Prediction, Double) {
        let points = prompt.point.map { [(x: $0[0], y: $0[1])] } ?? []
        let labels = points.map { _ in 1 }
        let ms = try timed {
            _ = try predictor.predictLowResolution(points: points, labels: labels, box: prompt.box, multimask: true)
        }
        return (try predictor.predict(points: points, labels: labels, box: prompt.box, multimask: true), ms)
    }

    /// The mask the model rates best, as SAM's demo picks (`np.argmax`: the first on ties;
    /// `max(by:)` keeps the first of equal elements).
    static func best(_ scores: [Float]) -> Int {
        scores.indices.max { scores[$0] < scores[$1] } ?? 0
    }

    static func timed(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now()
        try body()
        return ModelLoading.milliseconds(since: start)
    }
}
