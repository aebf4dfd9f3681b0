import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import SAMQFormat
import SAMQImage
import SAMQRuntime
import SAMQCLISupport

/// `samq bench MODEL.samq [--image IMAGE] [--runs N] [--prompts 50] [--json] [--peak]`
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure load, encoder and decoder time, the int8 GEMM rate and peak memory on this machine.")

    @Argument(help: "The .samq model.") var model: String
    @Option(help: "Image to encode (default: a generated 1024×768 photo-like image).") var image: String?
    @Option(help: "Timed encoder runs after one warm-up.") var runs: Int = 3
    @Option(help: "Decoder prompts (one random point each, multimask).") var prompts: Int = 50
    @Option(help: "Decoder only: use this embedding from `samq encode` (made from --image) and skip the encoder.")
    var embedding: String?
    @Flag(help: "Also measure the machine's int8 multiply-accumulate peak (register-only loop).") var peak = false
    @Flag(help: "Print JSON instead of text.") var json = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard runs >= 1, prompts >= 1 else { throw ValidationError("--runs and --prompts must be at least 1") }
    }

    func run() throws {
        var report = BenchReport(model: PathText.lastComponent(model))
        let isa = try KernelISA.resolve()
        report.isa = isa.name
        report.attentionProducts = try AttentionProductPrecision.resolve(for: isa).rawValue
        let loadStart = DispatchTime.now()
        let predictor = try ModelLoading.predictor(path: model, global: GlobalOptions.quietCopy(of: global),
                                                   decoderOnly: embedding != nil)
        report.loadMs = ModelLoading.milliseconds(since: loadStart)
        report.threads = ComputeThreads.count
        report.variant = predictor.config.variant
        let picture = try image.map { try ModelLoading.image(path: $0, maxPixels: 100_000_000) } ?? Self.syntheticImage()

        if let embedding {
            let array = try NumPyArray.read(path: embedding,
                                            maxDataBytes: predictor.imageEncoder.outputShape.reduce(1, *) * 8)
            try predictor.setEmbedding(array.values, originalSize: picture.size)
        } else {
            try predictor.setImage(picture)  // warm-up
            var encoder: [Double] = []
            for _ in 0..<runs {
                let start = DispatchTime.now()
                try predictor.setImage(picture)
                encoder.append(ModelLoading.milliseconds(since: start))
            }
            report.encoderMedianMs = Self.median(encoder)
            report.encoderMinMs = encoder.min() ?? 0
        }

        // A fixed LCG: the same prompts every run, so runs compare.
        var seed = UInt64(42)
        var decoder: [Double] = [], endToEnd: [Double] = [], decoderCPU: [Double] = []
        for _ in 0..<prompts {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let x = Float(seed >> 40) / Float(1 << 24) * Float(picture.width - 1)
            let y = Float((seed >> 16) & 0xFFFFFF) / Float(1 << 24) * Float(picture.height - 1)
            let cpuStart = Self.processCPUMilliseconds()
            let start = DispatchTime.now()
            _ = try predictor.predictLowResolution(points: [(x: x, y: y)], labels: [1], multimask: true)
            decoder.append(ModelLoading.milliseconds(since: start))
            decoderCPU.append(Self.processCPUMilliseconds() - cpuStart)
            let fullStart = DispatchTime.now()
            _ = try predictor.predict(points: [(x: x, y: y)], labels: [1], multimask: true)
            endToEnd.append(ModelLoading.milliseconds(since: fullStart))
        }
        report.decoderMedianMs = Self.median(decoder)
        report.decoderCPUMedianMs = Self.median(decoderCPU)
        report.predictMedianMs = Self.median(endToEnd)

        report.gemmGMACs = try Self.gemmRate(isa: isa)
        if peak {
            report.peakGMACsPerCore = Self.peakRate(isa: isa)
            // AMX tiles outrun the vector units: also give the VNNI figure, the
            // yardstick the GEMM efficiency target is stated against.
            if isa == .amx { report.vnniPeakGMACsPerCore = Self.peakRate(isa: .avx512vnni) }
        }
        report.peakRSSMB = Self.peakRSSMegabytes()

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            report.printText()
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Int8 GEMM rate on the vit_b MLP shape (4096×768 · 768×3072), all threads.
    static func gemmRate(isa: KernelISA) throws -> Double {
        let m = 4096, k = 768, n = 3072
        var state: UInt32 = 1
        let weights = (0..<(n * k)).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(Int32(bitPattern: state) >> 8) / Float(1 << 23)
        }
        let layer = try QuantizedLinear(weight: try PackedInt8Matrix(quantizing: weights, n: n, k: k, name: "bench"),
                                        bias: nil, context: Int8Context(isa: isa))
        let input = (0..<(m * k)).map { Float(($0 * 7919) % 1000) / 500 - 1 }
        // One output buffer for every run, as the encoder's workspace: a fresh
        // 48 MiB array per call timed its page faults too (fresh mmap pages;
        // one Sapphire Rapids core: 30 ms of GEMM became 47 ms per call).
        var output = [Float](repeating: 0, count: m * n)
        var times: [Double] = []
        try input.withUnsafeBufferPointer { x in
            try output.withUnsafeMutableBufferPointer { y in
                try layer.forward(rows: m, input: x.baseAddress!, ldx: k, output: y.baseAddress!, ldo: n)
                for _ in 0..<5 {
                    let start = DispatchTime.now()
                    try layer.forward(rows: m, input: x.baseAddress!, ldx: k, output: y.baseAddress!, ldo: n)
                    times.append(ModelLoading.milliseconds(since: start))
                }
            }
        }
        return Double(m * k * n) / (median(times) / 1000) / 1e9
    }

    /// One core's register-only int8 MAC rate: the ceiling the GEMM is judged against.
    static func peakRate(isa: KernelISA) -> Double {
        let iterations: UInt64 = 20_000_000
        _ = isa.peakMultiplyAccumulates(iterations: iterations / 10)
        let start = DispatchTime.now()
        let macs = isa.peakMultiplyAccumulates(iterations: iterations)
        let seconds = ModelLoading.milliseconds(since: start) / 1000
        return Double(macs) / seconds / 1e9
    }

    /// `RUSAGE_SELF` is imported as an enum on Glibc and an Int32 on Darwin.
    #if canImport(Glibc)
    static let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)
    #else
    static let RUSAGE_SELF_WHO = RUSAGE_SELF
    #endif

    /// User + system CPU time of the whole process so far: on a busy machine
    /// a steadier figure than wall time (the pool's workers sleep, never spin).
    static func processCPUMilliseconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF_WHO, &usage)
        func ms(_ t: timeval) -> Double { Double(t.tv_sec) * 1000 + Double(t.tv_usec) / 1000 }
        return ms(usage.ru_utime) + ms(usage.ru_stime)
    }

    static func peakRSSMegabytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF_WHO, &usage)
        return Int(usage.ru_maxrss) / 1024
    }

    /// Smooth gradients and a few shapes: realistic enough for timing (the
    /// encoder's cost does not depend on content).
    static func syntheticImage() throws -> RGBImage {
        let width = 1024, height = 768
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                let inDisc = (x - 600) * (x - 600) + (y - 380) * (y - 380) < 200 * 200
                pixels[i] = inDisc ? 200 : UInt8(x * 255 / width)
                pixels[i + 1] = inDisc ? 60 : UInt8(y * 255 / height)
                pixels[i + 2] = UInt8((x ^ y) & 0x3F) + 100
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }
}

/// What `samq bench` measured.
struct BenchReport: Encodable {
    var model: String
    var variant = ""
    var isa = ""
    /// The decoder's softmax·values products: "bf16" or "f32" (`SAMQ_BF16`).
    var attentionProducts = ""
    var threads = 0
    var loadMs = 0.0
    var encoderMedianMs = 0.0
    var encoderMinMs = 0.0
    var decoderMedianMs = 0.0
    var decoderCPUMedianMs = 0.0
    var predictMedianMs = 0.0
    var gemmGMACs = 0.0
    var peakGMACsPerCore: Double?
    /// With the AMX kernels: the AVX-512 VNNI register-only peak too.
    var vnniPeakGMACsPerCore: Double?
    var peakRSSMB = 0

    func printText() {
        print("model        \(model) (\(variant))")
        print("kernels      \(isa), \(threads) thread(s), \(attentionProducts) attention products (decoder; TinyViT encoder too)")
        print("load         \(fixed(loadMs, 0)) ms")
        if encoderMedianMs > 0 {
            print("encoder      median \(fixed(encoderMedianMs, 0)) ms, min \(fixed(encoderMinMs, 0)) ms")
        } else {
            print("encoder      not run (--embedding)")
        }
        print("decoder      median \(fixed(decoderMedianMs, 1)) ms per prompt (prompt encoder + mask decoder, 1 point, multimask); CPU \(fixed(decoderCPUMedianMs, 1)) ms")
        print("predict      median \(fixed(predictMedianMs, 1)) ms per prompt (with masks upscaled to the image)")
        var gemm = "int8 GEMM    \(fixed(gemmGMACs, 0)) GMAC/s on 4096×768×3072"
        if let peak = peakGMACsPerCore {
            let ceiling = peak * Double(threads)
            gemm += " = \(fixed(100 * gemmGMACs / ceiling, 0))% of the \(fixed(ceiling, 0)) GMAC/s peak (\(fixed(peak, 0)) per core × \(threads))"
        }
        print(gemm)
        if let vnni = vnniPeakGMACsPerCore {
            let ceiling = vnni * Double(threads)
            print("             = \(fixed(100 * gemmGMACs / ceiling, 0))% of the \(fixed(ceiling, 0)) GMAC/s AVX-512 VNNI peak (\(fixed(vnni, 0)) per core × \(threads))")
        }
        print("peak RSS     \(peakRSSMB) MB")
    }
}

extension GlobalOptions {
    /// The same options with progress output off (timed runs must not draw).
    static func quietCopy(of options: GlobalOptions) -> GlobalOptions {
        var copy = options
        copy.quiet = true
        return copy
    }
}
