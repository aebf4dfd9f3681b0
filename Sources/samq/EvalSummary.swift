#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQCLISupport
import SAMQImage
import SAMQRuntime

/// Folds per-image results into the report: overall embedding figures over
/// every element, IoU statistics over every prompt, medians of the timings.
enum EvalSummary {
    static func report(model: String, reference: String, modelPredictor: SamPredictor, referencePredictor: SamPredictor,
                       seed: UInt64, promptsPerImage: Int,
                       results: [(name: String, image: RGBImage, result: EvalRunner.ImageResult)],
                       referenceEmbedding: EvalReport.ReferenceEmbedding?,
                       referenceLogits: EvalReport.ReferenceLogits?) throws -> EvalReport {
        let cases = results.flatMap(\.result.cases)
        let errors = results.flatMap(\.result.iouErrors)
        let overall = results.map(\.result.embedding).reduce(TensorComparison()) { $0.merged(with: $1) }
        let images = try results.map { entry in
            EvalReport.Image(image: PathText.lastComponent(entry.name), width: entry.image.width,
                             height: entry.image.height, embedding: .init(entry.result.embedding),
                             bestMaskIoU: try SummaryStatistics(entry.result.cases.map(\.bestMaskIoU)))
        }
        let byKind = try EvaluationPromptKind.allCases.compactMap { kind -> EvalReport.KindSummary? in
            let values = cases.filter { $0.kind == kind }.map(\.bestMaskIoU)
            return values.isEmpty ? nil : .init(kind: kind, bestMaskIoU: try SummaryStatistics(values))
        }
        let mismatches = cases.filter { $0.modelBest != $0.referenceBest }.count
        return EvalReport(
            model: PathText.lastComponent(model), reference: PathText.lastComponent(reference),
            variant: modelPredictor.config.variant, referenceVariant: referencePredictor.config.variant,
            seed: seed, promptsPerImage: promptsPerImage, images: images, embedding: .init(overall),
            bestMaskIoU: try SummaryStatistics(cases.map(\.bestMaskIoU)),
            maskIoU: try SummaryStatistics(cases.flatMap(\.maskIoU)),
            iouPredictionError: .init(mean: errors.reduce(0, +) / Double(max(1, errors.count)), max: errors.max() ?? 0),
            bestIndexMismatch: Double(mismatches) / Double(max(1, cases.count)),
            byKind: byKind,
            timingsMs: .init(
                model: .init(encoderMedian: median(results.map(\.result.encoderMs.model)),
                             decoderMedian: median(results.flatMap(\.result.decoderMs.model))),
                reference: .init(encoderMedian: median(results.map(\.result.encoderMs.reference)),
                                 decoderMedian: median(results.flatMap(\.result.decoderMs.reference)))),
            referenceEmbedding: referenceEmbedding, referenceLogits: referenceLogits, cases: cases)
    }
}
