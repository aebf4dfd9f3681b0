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

/// `samq segment MODEL.samq IMAGE [--embedding E.npy] [--point X,Y[,L]]... [--box X0,Y0,X1,Y1]
///  [--mask-input LOGITS.npy] [--single-mask] [--logits OUT.npy] -o OUTDIR [--json]`
struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Segment an image from point/box/mask prompts; writes mask_K.png, overlay.png and result.json.",
        discussion: """
            Coordinates are original-image pixels. Labels: 1 foreground (default), 0 background.
            Example: samq segment model.samq photo.jpg --point 320,240 --point 400,260,0 -o out/
            """)

    @Argument(help: "The .samq model.") var model: String
    @Argument(help: "The image (PNG or JPEG).") var image: String
    @Option(help: "Reuse an embedding from `samq encode` instead of running the encoder.") var embedding: String?
    @Option(name: .customLong("point"), help: "A point prompt X,Y[,LABEL] (repeatable).") var points: [PointArgument] = []
    @Option(help: "A box prompt X0,Y0,X1,Y1.") var box: BoxArgument?
    @Option(help: "Low-res logits of an earlier prediction (.npy, 1×L×L or C×L×L) to refine.") var maskInput: String?
    @Option(help: "Which channel of a multi-channel --mask-input to use.") var maskInputIndex: Int = 0
    @Flag(help: "Predict one mask instead of three.") var singleMask = false
    @Option(help: "Also save the low-res logits (C×L×L float32 .npy).") var logits: String?
    @Option(name: .shortAndLong, help: "Output directory.") var output: String
    @Flag(help: "Print result.json to stdout.") var json = false
    @Option(help: "Refuse images with more pixels than this.") var maxPixels: Int = 100_000_000
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
        if points.isEmpty && box == nil && maskInput == nil {
            throw ValidationError("give at least one prompt: --point X,Y[,LABEL], --box X0,Y0,X1,Y1 or --mask-input")
        }
    }

    func run() throws {
        TemporaryFileCleanup.removeOnTermination()
        let start = DispatchTime.now()
        // The image decode (libpng's inflate) and the model load are both
        // single-threaded and independent: decode on another core meanwhile.
        // A bad model is still reported before a bad image, as before.
        let decoding = BackgroundTask { [image, maxPixels] in try ModelLoading.image(path: image, maxPixels: maxPixels) }
        let predictor: SamPredictor
        do {
            predictor = try ModelLoading.predictor(path: model, global: global, decoderOnly: embedding != nil)
        } catch {
            _ = try? decoding.value()
            throw error
        }
        let picture = try decoding.value()
        let loadMs = ModelLoading.milliseconds(since: start)

        let encodeStart = DispatchTime.now()
        if let embedding {
            let expected = [1] + predictor.imageEncoder.outputShape
            // At most this model's embedding in float64: a larger array is refused before it is read.
            let array = try NumPyArray.read(path: embedding, maxDataBytes: expected.reduce(1, *) * 8)
            guard array.shape == expected || array.shape == Array(expected.dropFirst()) else {
                throw ValidationError("\(embedding) has shape \(array.shape), but this model's embedding is \(expected): was it made by another model?")
            }
            try predictor.setEmbedding(array.values, originalSize: picture.size)
        } else {
            try predictor.setImage(picture)
        }
        let encodeMs = ModelLoading.milliseconds(since: encodeStart)

        let maskValues = try maskInput.map { try Self.loadMaskInput($0, index: maskInputIndex, side: predictor.config.lowResMaskSize) }
        let decodeStart = DispatchTime.now()
        let prediction = try predictor.predict(points: points.map { (x: $0.x, y: $0.y) }, labels: points.map(\.label),
                                               box: box?.values, maskInput: maskValues, multimask: !singleMask)
        let decodeMs = ModelLoading.milliseconds(since: decodeStart)

        let writer = SegmentationOutput(directory: output, image: picture, prediction: prediction)
        let files = try writer.write(points: points, box: box?.values)
        // --logits joins the PNGs and result.json: all of them replace their targets or none.
        let stagedLogits = try logits.map { path in
            try AtomicFile.staged(try NumPyArray(shape: [prediction.maskCount, prediction.lowResSize, prediction.lowResSize],
                                                 values: prediction.lowResLogits).encoded(), for: path)
        }
        let result = SegmentationResult(
            model: PathText.lastComponent(model), variant: predictor.config.variant,
            image: image, width: picture.width, height: picture.height,
            points: points.map { .init(x: $0.x, y: $0.y, label: $0.label) }, box: box?.values,
            maskInput: maskInput, embedding: embedding,
            masks: files.masks.enumerated().map { .init(file: $1, iouPrediction: prediction.iouPredictions[$0],
                                                        area: files.areas[$0]) },
            best: prediction.bestMaskIndex,
            overlay: files.overlay, logits: logits,
            timingsMs: .init(load: loadMs, encode: embedding == nil ? encodeMs : 0, embeddingLoad: embedding == nil ? 0 : encodeMs,
                             decode: decodeMs, total: ModelLoading.milliseconds(since: start)))
        let json = try result.encoded()
        try writer.finish(resultJSON: json, staged: files.staged + (stagedLogits.map { [$0] } ?? []))
        if self.json {
            print(json)
        } else if !global.quiet {
            print("masks    \(files.masks.joined(separator: ", ")) (best: mask_\(result.best).png, predicted IoU \(fixed(prediction.iouPredictions[result.best], 3)))")
            print("overlay  \(files.overlay)")
            print("time     encoder \(fixed(result.timingsMs.encode, 0)) ms, decoder \(fixed(decodeMs, 1)) ms, total \(fixed(result.timingsMs.total, 0)) ms")
        }
    }

    /// Mask inputs hold a few channels (SAM's multimask outputs are 3 or 4).
    static let maxMaskInputChannels = 16

    static func loadMaskInput(_ path: String, index: Int, side: Int) throws -> [Float] {
        let array = try NumPyArray.read(path: path, maxDataBytes: maxMaskInputChannels * side * side * 8)
        let plane = side * side
        guard array.values.count % plane == 0, array.values.count > 0, array.shape.suffix(2) == [side, side] else {
            throw ValidationError("\(path) has shape \(array.shape); a mask input must end in \(side)×\(side) (this model's low-res size)")
        }
        let channels = array.values.count / plane
        guard (0..<channels).contains(index) else {
            throw ValidationError("--mask-input-index \(index) is out of range: \(path) has \(channels) channel(s)")
        }
        return Array(array.values[(index * plane)..<((index + 1) * plane)])
    }
}
