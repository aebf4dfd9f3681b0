import Foundation
import SAMQFormat
import SAMQImage
@testable import SAMQRuntime

/// The golden fixtures made by Tests/Fixtures/make_fixtures.py with the official package.
///
/// Location: `$SAMQ_FIXTURES` or `Tests/Fixtures/sam`. Configs whose weights are
/// external (tiny_c) are looked up in `$SAMQ_BIG_DIR` (default /work/big).
struct Fixtures {
    let directory: String
    let manifest: [String: Any]

    static let shared: Fixtures? = {
        let env = ProcessInfo.processInfo.environment
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let dir = env["SAMQ_FIXTURES"]
            ?? here.appendingPathComponent("../Fixtures/sam").standardizedFileURL.path
        guard let data = FileManager.default.contents(atPath: dir + "/manifest.json"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return Fixtures(directory: dir, manifest: json)
    }()

    static var bigDirectory: String { ProcessInfo.processInfo.environment["SAMQ_BIG_DIR"] ?? "/work/big" }

    func path(_ relative: String) -> String { directory + "/" + relative }

    var configNames: [String] {
        ((manifest["configs"] as? [String: Any])?.keys).map { $0.sorted() } ?? []
    }

    func entry(_ name: String) -> [String: Any] {
        (manifest["configs"] as? [String: Any])?[name] as? [String: Any] ?? [:]
    }

    func npy(_ relative: String) throws -> NumPyArray { try NumPyArray.read(path: path(relative)) }

    /// `ModelConfig` from the manifest's constructor parameters.
    func modelConfig(_ name: String) throws -> ModelConfig {
        guard let c = entry(name)["config"] as? [String: Any] else { throw FixtureError("no config \(name)") }
        func int(_ key: String) throws -> Int {
            guard let v = c[key] as? Int else { throw FixtureError( "\(name): no \(key)") }
            return v
        }
        let embed = try int("embed_dim")
        var encoder = ModelConfig.ImageEncoder(
            imgSize: try int("img_size"), patchSize: try int("patch_size"), embedDim: embed, depth: try int("depth"),
            numHeads: try int("num_heads"), mlpDim: Int(Double(embed) * ((c["mlp_ratio"] as? Double) ?? 4)),
            outChans: try int("out_chans"), windowSize: try int("window_size"),
            globalAttnIndexes: c["global_attn_indexes"] as? [Int] ?? [])
        encoder.qkvBias = c["qkv_bias"] as? Bool ?? true
        encoder.useRelPos = c["use_rel_pos"] as? Bool ?? true
        var decoder = ModelConfig.MaskDecoder(transformerDim: try int("prompt_embed_dim"),
                                              transformerMlpDim: try int("decoder_mlp_dim"),
                                              iouHeadHiddenDim: try int("iou_head_hidden_dim"))
        decoder.transformerDepth = try int("decoder_depth")
        decoder.numHeads = try int("decoder_num_heads")
        decoder.attentionDownsampleRate = try int("attention_downsample_rate")
        decoder.iouHeadDepth = try int("iou_head_depth")
        decoder.numMultimaskOutputs = try int("num_multimask_outputs")
        return ModelConfig(variant: "custom", imageEncoder: encoder,
                           promptEncoder: .init(embedDim: try int("prompt_embed_dim"), maskInChans: try int("mask_in_chans")),
                           maskDecoder: decoder)
    }

    /// Path of the config's checkpoint (`pth` or `safetensors`), or nil when external and absent.
    func weightsPath(_ name: String, format: String = "pth") -> String? {
        guard let w = entry(name)["weights"] as? [String: Any] else { return nil }
        if let local = w[format] as? String { return path(local) }
        if let external = w["external_" + format] as? String {
            let p = Fixtures.bigDirectory + "/" + external
            return FileManager.default.fileExists(atPath: p) ? p : nil
        }
        return nil
    }

    nonisolated(unsafe) private static var cache: [String: CheckpointWeights] = [:]
    private static let lock = NSLock()

    /// The config's weights from its official-format `.pth` (cached), or nil if absent.
    func weights(_ name: String, format: String = "pth") throws -> CheckpointWeights? {
        Fixtures.lock.lock(); defer { Fixtures.lock.unlock() }
        let key = name + "." + format
        if let cached = Fixtures.cache[key] { return cached }
        guard let p = weightsPath(name, format: format) else { return nil }
        let w = try CheckpointWeights(path: p, config: try modelConfig(name))
        Fixtures.cache[key] = w
        return w
    }

    /// Original and resized image sizes (the manifest stores them as [h, w]).
    func sizes(_ name: String) -> (original: ImageSize, input: ImageSize) {
        let o = entry(name)["original_size"] as? [Int] ?? [0, 0]
        let i = entry(name)["input_size"] as? [Int] ?? [0, 0]
        return (ImageSize(width: o[1], height: o[0]), ImageSize(width: i[1], height: i[0]))
    }

    func cases(_ name: String) -> [[String: Any]] { entry(name)["cases"] as? [[String: Any]] ?? [] }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// ‖a − b‖₂ / ‖b‖₂ in Double.
func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var num = 0.0, den = 0.0
    for i in a.indices {
        let d = Double(a[i]) - Double(b[i])
        num += d * d
        den += Double(b[i]) * Double(b[i])
    }
    return (num / max(den, 1e-30)).squareRoot()
}
