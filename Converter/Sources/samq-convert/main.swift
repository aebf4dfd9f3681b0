import ArgumentParser
import Foundation
import SAMQConverter
import SAMQFormat
import SAMQCLISupport

/// `samq-convert`: official SAM checkpoints (or random weights) → `.samq`.
struct SAMQConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samq-convert",
        abstract: "Convert a SAM checkpoint (.pth or .safetensors) into a validated, int8-packed .samq file.",
        discussion: """
            Examples:
              samq-convert sam_vit_b_01ec64.pth -o vit_b.samq
              samq-convert model.safetensors -o vit_b_f32.samq --dtype f32
              samq-convert --random vit_b --seed 1 -o random_vit_b.samq
            """,
        version: Converter.version)

    @Argument(help: "The checkpoint: a torch .pth (zip) or a Hugging Face .safetensors file.")
    var checkpoint: String?

    @Option(name: .shortAndLong, help: "Output .samq path (written atomically).")
    var output: String

    @Option(help: "Weight type: int8 (per-channel, packed for the kernels) or f32 (the reference path).")
    var dtype: String = "int8"

    @Option(help: "Tensor codec: zstd (smaller) or raw (usable in place from the memory map).")
    var codec: String = "zstd"

    @Option(help: "zstd compression level (1-19).")
    var level: Int32 = 3

    @Option(help: "int8 files: how to store the mask decoder's transformer linears: f16 (default), int8 (smallest) or f32.")
    var decoderWeights: String = "f16"

    @Option(help: "int8 files: run the mask decoder's output upscaling on the int8 kernels (int8) or in f32. Default: int8 for SAM, f32 for MobileSAM.")
    var decoderUpscaling: String?

    @Option(help: "int8 files: run the ViT encoder's attention products (Q·Kᵀ, P·V) on the int8 kernels (int8, default) or in f32 (slower, closer to f32).")
    var encoderAttention: String = "int8"

    @Option(help: "Random weights instead of a checkpoint: vit_b, vit_l, vit_h, vit_t (MobileSAM), or a model config JSON file.")
    var random: String?

    @Option(help: "Seed for --random.")
    var seed: UInt64 = 0

    @Option(help: "Number of mask decoder attention heads (not visible in tensor shapes; 8 in every official model, the default).")
    var decoderHeads: Int?

    @Option(help: "Model config JSON overriding shape-based detection.")
    var config: String?

    @Option(help: "Input image side of a MobileSAM (TinyViT) checkpoint; not visible in its shapes (official: 1024).")
    var imageSize: Int = 1024

    @Option(name: .customLong("keep-f32"),
            help: "Keep GEMM weights whose names contain this text in f32 in an int8 file (repeatable).")
    var keepF32: [String] = []

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Print only the totals, not the per-tensor report.")
    var brief = false

    func validate() throws {
        guard (checkpoint == nil) != (random == nil) else {
            throw ValidationError("give either a CHECKPOINT or --random, not both or neither")
        }
        guard ConversionOptions.WeightType(rawValue: dtype) != nil else { throw ValidationError("--dtype must be int8 or f32") }
        guard ConversionOptions.DecoderWeights(rawValue: decoderWeights) != nil else {
            throw ValidationError("--decoder-weights must be f16, int8 or f32")
        }
        guard decoderUpscaling.map({ ConversionOptions.DecoderUpscaling(rawValue: $0) != nil }) ?? true else {
            throw ValidationError("--decoder-upscaling must be int8 or f32")
        }
        guard ConversionOptions.EncoderAttention(rawValue: encoderAttention) != nil else {
            throw ValidationError("--encoder-attention must be int8 or f32")
        }
        guard codec == "zstd" || codec == "raw" else { throw ValidationError("--codec must be zstd or raw") }
        guard (1...19).contains(level) else { throw ValidationError("--level must be 1...19") }
        if let decoderHeads {
            guard (1...64).contains(decoderHeads) else { throw ValidationError("--decoder-heads must be 1...64") }
        }
        guard (16...8192).contains(imageSize), imageSize % 16 == 0 else {
            throw ValidationError("--image-size must be a multiple of 16 in 16...8192")
        }
        guard keepF32.allSatisfy({ !$0.isEmpty }) else { throw ValidationError("--keep-f32 needs a non-empty name part") }
    }

    func run() throws {
        // Ctrl-C or kill mid-conversion must not leave a hidden, model-sized temporary file.
        TemporaryFileCleanup.removeOnTermination()
        var options = ConversionOptions()
        options.weights = ConversionOptions.WeightType(rawValue: dtype) ?? .int8
        options.codec = codec == "raw" ? .raw : .zstd
        options.compressionLevel = level
        options.decoderWeights = ConversionOptions.DecoderWeights(rawValue: decoderWeights) ?? .f16
        options.decoderUpscaling = decoderUpscaling.flatMap(ConversionOptions.DecoderUpscaling.init(rawValue:))
        options.encoderAttention = ConversionOptions.EncoderAttention(rawValue: encoderAttention) ?? .int8
        options.keepFloat32 = keepF32
        var converter = Converter(options: options)
        if let decoderHeads { converter.decoderHeads = decoderHeads }
        converter.tinyViTImageSize = imageSize
        if let config { converter.configOverride = try Self.loadConfig(config) }

        let input: ConversionInput
        var keepAlive: CheckpointSource? = nil
        if let random {
            let modelConfig = try ModelConfig.official(random) ?? Self.loadConfig(random)
            converter.configOverride = modelConfig
            input = RandomWeights(config: modelConfig, seed: seed).input(converterVersion: Converter.version)
        } else {
            let source = try CheckpointLoader.open(path: checkpoint ?? "")
            keepAlive = source
            input = try ConversionInput(checkpoint: source, converterVersion: Converter.version)
        }
        // A config states its head count; silently dropping a different one would hide the conflict.
        if let decoderHeads, let stated = converter.configOverride?.maskDecoder.numHeads, stated != decoderHeads {
            throw ValidationError("--decoder-heads \(decoderHeads) conflicts with the \(stated) heads of the "
                                  + "\(random != nil ? "--random" : "--config") model config")
        }
        let progress = ProgressLine(enabled: !quiet)
        let report = try converter.convert(input, to: output) { done, total, name in
            progress.update("converting \(done)/\(total) \(name)")
        }
        progress.finish()
        _ = keepAlive
        if !quiet { ConversionReportPrinter(report: report, perTensor: !brief, outputPath: output).print() }
    }

    static func loadConfig(_ path: String) throws -> ModelConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("'\(path)' is neither vit_b, vit_l, vit_h, vit_t nor a readable config JSON file")
        }
        let config: ModelConfig
        do { config = try JSONDecoder().decode(ModelConfig.self, from: data) } catch {
            throw ValidationError("'\(path)' is not a valid model config: \(error)")
        }
        // Checked here, before any checkpoint is opened, so the message can name the file.
        do { try Converter.validate(config) } catch { throw ValidationError("'\(path)': \(error)") }
        return config
    }
}

SAMQConvert.main()
