import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQImage
import SAMQRuntime
import SAMQCLISupport

/// `samq eval MODEL.samq --reference REF.samq IMAGE... [--prompts N] [--seed S] [--json]
///  [--reference-embedding EMB.npy] [--reference-logits LOGITS.npy --point X,Y[,L] --box ...] [--fail-below-iou X]`
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Compare a model with a reference (e.g. int8 with f32) on the same images and seeded prompts.",
        discussion: """
            Reports embedding cosine/SQNR, mask IoU of the best-rated masks and of every mask, IoU-prediction \
            error, how often the best-mask choice differs, and encoder/decoder time of both models.
            Example: samq eval vit_b_int8.samq --reference vit_b_f32.samq photo1.jpg photo2.jpg --prompts 30
            """)

    @Argument(help: "The .samq model to evaluate.") var model: String
    @Option(help: "The .samq model to compare against (same architecture, e.g. the f32 file).") var reference: String
    @Argument(help: "Images (PNG or JPEG).") var images: [String] = []
    @Option(help: "Prompts per image (point, box, point+box in turn; at most 10000).") var prompts: Int = 30
    @Option(help: "Seed of the prompt sampler: the same seed gives the same prompts.") var seed: UInt64 = 0
    @Flag(help: "Print JSON instead of the table.") var json = false
    @Option(help: "Also compare MODEL's embedding of the single image with this .npy (1×C×H×W float32).") var referenceEmbedding: String?
    @Option(help: "Also compare MODEL's low-res logits for --point/--box on the single image with this .npy (C×L×L).") var referenceLogits: String?
    @Option(name: .customLong("point"), help: "A point X,Y[,LABEL] of the --reference-logits prompt (repeatable).") var points: [PointArgument] = []
    @Option(help: "The box X0,Y0,X1,Y1 of the --reference-logits prompt.") var box: BoxArgument?
    @Option(help: "Exit non-zero when the mean best-mask IoU is below this.") var failBelowIou: Double?
    @Option(help: "Refuse images with more pixels than this.") var maxPixels: Int = 100_000_000
    @OptionGroup var global: GlobalOptions

    static let maxPrompts = 10_000

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
        // Every prompt's record is kept for the percentiles; a typo of 10⁸ filled gigabytes before the first image was done.
        guard (1...Self.maxPrompts).contains(prompts) else {
            throw ValidationError("--prompts must be between 1 and \(Self.maxPrompts) per image, got \(prompts)")
        }
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
        if (referenceEmbedding != nil || referenceLogits != nil) && images.count != 1 {
            throw ValidationError("--reference-embedding and --reference-logits compare one image: give exactly one")
        }
        if referenceLogits != nil && points.isEmpty && box == nil {
            throw ValidationError("--reference-logits needs the prompt it was made with: --point X,Y[,LABEL] and/or --box X0,Y0,X1,Y1")
        }
        if referenceLogits == nil && (!points.isEmpty || box != nil) {
            throw ValidationError("--point and --box describe the --reference-logits prompt; eval draws its own prompts (--prompts, --seed)")
        }
        if let failBelowIou, !failBelowIou.isFinite { throw ValidationError("--fail-below-iou must be a number") }
    }

    func run() throws {
        // The runner draws its own progress line; the encoders' would fight it.
        let quietGlobal = GlobalOptions.quietCopy(of: global)
        let modelPredictor = try ModelLoading.predictor(path: model, global: quietGlobal)
        let referencePredictor = try ModelLoading.predictor(path: reference, global: quietGlobal)
        try EvalRunner.checkCompatible(model: modelPredictor, reference: referencePredictor)

        let progress = ProgressLine(enabled: !global.quiet)
        let runner = EvalRunner(model: modelPredictor, reference: referencePredictor, sampler: PromptSampler(seed: seed),
                                promptsPerImage: prompts, progress: progress)
        var results: [(name: String, image: RGBImage, result: EvalRunner.ImageResult)] = []
        for (index, path) in images.enumerated() {
            let picture = try ModelLoading.image(path: path, maxPixels: maxPixels)
            results.append((path, picture, try runner.evaluate(image: picture, index: index, of: images.count)))
        }
        // With one image the predictors still hold it: the reference files compare against that.
        let embeddingCheck = try referenceEmbedding.map { try EvalReferenceFiles.embedding($0, predictor: modelPredictor) }
        let logitsCheck = try referenceLogits.map {
            try EvalReferenceFiles.logits($0, predictor: modelPredictor, points: points, box: box?.values)
        }
        progress.finish()

        let report = try EvalSummary.report(
            model: model, reference: reference, modelPredictor: modelPredictor, referencePredictor: referencePredictor,
            seed: seed, promptsPerImage: prompts, results: results,
            referenceEmbedding: embeddingCheck, referenceLogits: logitsCheck)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text())
        }
        if let failBelowIou, report.bestMaskIoU.mean < failBelowIou {
            throw CLIError("mean best-mask IoU \(fixed(report.bestMaskIoU.mean, 4)) is below --fail-below-iou \(failBelowIou)")
        }
    }
}
