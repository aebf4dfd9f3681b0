import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import SAMQCLISupport
import SAMQFormat
import SAMQImage
import SAMQRuntime

/// `samq everything MODEL.samq IMAGE -o MASKS.json [generator options] [--overlay PNG]`
///
/// The official `SamAutomaticMaskGenerator` with the same options and defaults;
/// writes COCO RLE JSON in the SA-1B layout. The overlay is opt-in: the JSON is
/// the product, and on a small board the extra PNG costs time and storage.
struct EverythingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "everything",
        abstract: "Segment everything: masks for a grid of point prompts, as COCO RLE JSON (SA-1B layout).",
        discussion: """
            Options and defaults follow segment_anything's SamAutomaticMaskGenerator.

            Output (SA-1B layout): {"image": {file_name, width, height}, "annotations": [{id, segmentation, area, bbox, predicted_iou, stability_score, point_coords, crop_box}]}. segmentation is {size: [h, w], counts: pycocotools' compressed RLE string}; bbox and crop_box are [x, y, w, h]; point_coords is [[x, y]].

            Example: samq everything model.samq photo.jpg -o masks.json --overlay masks.png
            """)

    @Argument(help: "The .samq model.") var model: String
    @Argument(help: "The image (PNG or JPEG).") var image: String
    @Option(name: .shortAndLong, help: "Output JSON (written atomically).") var output: String
    @Option(help: "Points sampled per side of the image (the grid is N×N).") var pointsPerSide: Int = 32
    @Option(help: "Points decoded per batch.") var pointsPerBatch: Int = 64
    @Option(help: "Keep masks with predicted IoU above this (0 disables).") var predIouThresh: Float = 0.88
    @Option(help: "Keep masks with stability score at least this (0 disables).") var stabilityScoreThresh: Float = 0.95
    @Option(help: "Logit offset of the stability score's two cutoffs.") var stabilityScoreOffset: Float = 1.0
    @Option(help: "Box IoU for duplicate removal within a crop.") var boxNmsThresh: Float = 0.7
    @Option(help: "Crop layers (layer i has 2^i × 2^i crops).") var cropNLayers: Int = 0
    @Option(help: "Crop overlap as a fraction of the short side.") var cropOverlapRatio: Double = 512.0 / 1500.0
    @Option(help: "Box IoU for duplicate removal between crops.") var cropNmsThresh: Float = 0.7
    @Option(help: "Points per side in layer i are divided by this^i.") var cropNPointsDownscaleFactor: Int = 1
    @Option(help: "Fill holes and drop islands smaller than this many pixels (0 disables).") var minMaskRegionArea: Int = 0
    @Option(help: "Also write an overlay PNG with every mask in its own colour.") var overlay: String?
    @Option(help: "Refuse images with more pixels than this.") var maxPixels: Int = 100_000_000
    @OptionGroup var global: GlobalOptions

    var generatorOptions: AutomaticMaskGeneratorOptions {
        var options = AutomaticMaskGeneratorOptions()
        options.pointsPerSide = pointsPerSide
        options.pointsPerBatch = pointsPerBatch
        options.predIoUThresh = predIouThresh
        options.stabilityScoreThresh = stabilityScoreThresh
        options.stabilityScoreOffset = stabilityScoreOffset
        options.boxNMSThresh = boxNmsThresh
        options.cropNLayers = cropNLayers
        options.cropOverlapRatio = cropOverlapRatio
        options.cropNMSThresh = cropNmsThresh
        options.cropNPointsDownscaleFactor = cropNPointsDownscaleFactor
        options.minMaskRegionArea = minMaskRegionArea
        return options
    }

    func validate() throws {
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
        do {
            try generatorOptions.validate()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        TemporaryFileCleanup.removeOnTermination()
        let start = DispatchTime.now()
        let predictor = try ModelLoading.predictor(path: model, global: global)   // --threads, --memory-budget
        let picture = try ModelLoading.image(path: image, maxPixels: maxPixels)
        let generator = try AutomaticMaskGenerator(predictor: predictor, options: generatorOptions)

        let progress = ProgressLine(enabled: !global.quiet)
        let result = try generator.generate(picture) {
            progress.update("crop \($0.crop)/\($0.cropCount), batch \($0.batch)/\($0.batchCount)")
        }
        progress.finish()

        let document = SA1BDocument(fileName: PathText.lastComponent(image), width: picture.width,
                                    height: picture.height, masks: result.masks)
        // The JSON and the overlay replace their targets together or not at all.
        var staged = [try AtomicFile.staged(try document.encoded(), for: output)]
        if let overlay {
            staged.append(try AtomicFile.staged(try PNGEncoder.encode(MaskOverlay.render(on: picture, masks: result.masks)),
                                                for: overlay))
        }
        try AtomicFile.publish(staged)
        guard !global.quiet else { return }
        let t = result.timings
        let share = t.total > 0 ? 100 * t.decoder / t.total : 0
        print("masks    \(result.masks.count) -> \(output)" + (overlay.map { ", overlay \($0)" } ?? ""))
        print("time     encoder \(fixed(t.encoder, 2)) s, decoder \(fixed(t.decoder, 2)) s (\(fixed(share, 0))%), "
              + "mask scoring \(fixed(t.maskScoring, 2)) s, filtering \(fixed(t.filtering, 2)) s; "
              + "generate \(fixed(t.total, 2)) s, total \(fixed(ModelLoading.milliseconds(since: start) / 1000, 2)) s")
    }
}
