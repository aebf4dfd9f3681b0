import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import SAMQCLISupport
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

    func validate() throws {
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
    }

    func run() throws {
        TemporaryFileCleanup.removeOnTermination()
        let start = DispatchTime.now()
        // The encoder alone: `samq encode` never needs the decoder's weights.
        let encoder = try ModelLoading.encoder(path: model, global: global)
        let openMs = ModelLoading.milliseconds(since: start)
        let picture = try ModelLoading.image(path: image, maxPixels: maxPixels)
        let loaded = DispatchTime.now()
        // SamPredictor.setImage's preprocessing (resize, normalize, pad); an
        // encoder may normalize and pad strip by strip.
        let resized = try ResizeLongestSide(targetLength: encoder.config.imageEncoder.imgSize).apply(to: picture)
        let cpuBefore = Self.processCPUSeconds()
        let embedding = try encoder.encode(resizedImage: resized)
        let encodeMs = ModelLoading.milliseconds(since: loaded)
        let cpuMs = (Self.processCPUSeconds() - cpuBefore) * 1000
        let shape = encoder.outputShape
        try NumPyArray(shape: [1] + shape, values: embedding).write(to: output)
        if !global.quiet {
            print("wrote \(output) (1×\(shape.map(String.init).joined(separator: "×")) float32), encoder \(fixed(encodeMs, 0)) ms, total \(fixed(ModelLoading.milliseconds(since: start), 0)) ms")
            // Model-side latency only: opening + building the encoder, then
            // its setup up to the first GEMM (image decoding excluded).
            if let vit = encoder as? ImageEncoderViT, let stats = vit.lastEncodeStatistics {
                let mode = vit.residency == .streamed ? "streamed" : "resident"
                print("weights  \(mode); first GEMM \(fixed(openMs + stats.setupSeconds * 1000, 0)) ms after opening the model, \(fixed(stats.weightWaitSeconds * 1000, 0)) ms spent waiting for block weights, \(fixed(cpuMs, 0)) ms CPU in the encoder")
            }
        }
    }

    /// User + system CPU time of the whole process (all threads): what the
    /// encode costs, less sensitive than wall time to other load on the machine.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(BenchCommand.RUSAGE_SELF_WHO, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
