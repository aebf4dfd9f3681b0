import SAMQRuntime

/// What `samq eval` measured; encoded as its `--json` output (docs/CLI.md).
///
/// SQNR is `null` in JSON when the two tensors are identical (infinite SQNR):
/// JSON has no infinity, and a capped number would read as a measurement.
struct EvalReport: Encodable {
    struct Comparison: Encodable {
        var cosine: Double
        var sqnrDb: Double?
        var relativeL2: Double

        init(_ comparison: TensorComparison) {
            cosine = comparison.cosine
            sqnrDb = comparison.sqnrDecibels.isFinite ? comparison.sqnrDecibels : nil
            relativeL2 = comparison.relativeL2
        }

        private enum CodingKeys: String, CodingKey { case cosine, sqnrDb, relativeL2 }

        // Synthesized encoding omits a nil key; an explicit null tells scripts "identical", not "not measured".
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(cosine, forKey: .cosine)
            try container.encode(sqnrDb, forKey: .sqnrDb)
            try container.encode(relativeL2, forKey: .relativeL2)
        }
    }

    struct Image: Encodable {
        var image: String
        var width: Int
        var height: Int
        var embedding: Comparison
        var bestMaskIoU: SummaryStatistics
    }

    /// One prompt's outcome, so a bad tail can be traced to its prompt.
    struct Case: Encodable {
        var image: Int
        var kind: EvaluationPromptKind
        var point: [Float]?
        var box: [Float]?
        var bestMaskIoU: Double
        var maskIoU: [Double]
        var modelBest: Int
        var referenceBest: Int
        var modelIoUPredictions: [Float]
        var referenceIoUPredictions: [Float]
    }

    struct KindSummary: Encodable {
        var kind: EvaluationPromptKind
        var bestMaskIoU: SummaryStatistics
    }

    struct ErrorSummary: Encodable {
        var mean: Double
        var max: Double
    }

    struct Timing: Encodable {
        var encoderMedian: Double
        var decoderMedian: Double
    }

    struct Timings: Encodable {
        var model: Timing
        var reference: Timing
    }

    struct ReferenceEmbedding: Encodable {
        var file: String
        var comparison: Comparison
    }

    struct ReferenceLogits: Encodable {
        var file: String
        /// `[x, y, label]` each.
        var points: [[Float]]
        var box: [Float]?
        var masks: Int
        var comparison: Comparison
    }

    var model: String
    var reference: String
    var variant: String
    var referenceVariant: String
    var seed: UInt64
    var promptsPerImage: Int
    var images: [Image]
    /// Over every element of every image's embedding.
    var embedding: Comparison
    /// IoU of the two models' best-rated masks, one per prompt.
    var bestMaskIoU: SummaryStatistics
    /// IoU of mask k against mask k, every k of every prompt.
    var maskIoU: SummaryStatistics
    /// |model − reference| predicted IoU, every mask of every prompt.
    var iouPredictionError: ErrorSummary
    /// Share (0–1) of prompts whose best-rated mask index differs.
    var bestIndexMismatch: Double
    var byKind: [KindSummary]
    var timingsMs: Timings
    var referenceEmbedding: ReferenceEmbedding?
    var referenceLogits: ReferenceLogits?
    var cases: [Case]
}
