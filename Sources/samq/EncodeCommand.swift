import ArgumentParser
import Foundation
import SAMQFormat
import SAMQImage
import SAMQRuntime

/// `samq encode MODEL.samq IMAGE -o EMBEDDING.npy`
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Run the image encoder once and save the embedding (1×C×H×W float32 .npy) for later `segment --embedding`.")

    @Argument(help: "The .samq model.") var model: String
    @Argument(help: "The image (PNG or JPEG).") var image: String
    @Option(name: .shortAndLong, help: "Output .npy path (written atomically).") var output: String
    @Option(help: "Refuse images with more pixels than this.") var maxPixels: Int = 100_000_000
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let start = DispatchTime.now()
        // The encoder alone: `SamPredictor.setImage`'s preprocessing without loading the decoder.
        let encoder = try ModelLoading.encoder(path: model, global: global)
        let config = encoder.config
        let picture = try ModelLoading.image(path: image, maxPixels: maxPixels)
        let loaded = DispatchTime.now()
        let resized = try ResizeLongestSide(targetLength: config.imageEncoder.imgSize).apply(to: picture)
        let embedding = try encoder.encode(resizedImage: resized)
        let encodeMs = ModelLoading.milliseconds(since: loaded)
        let shape = encoder.outputShape
        try NumPyArray(shape: [1] + shape, values: embedding).write(to: output)
        if !global.quiet {
            print("wrote \(output) (1×\(shape.map(String.init).joined(separator: "×")) float32), encoder \(String(format: "%.0f", encodeMs)) ms, total \(String(format: "%.0f", ModelLoading.milliseconds(since: start))) ms")
        }
    }
}
