import XCTest
import SAMQFormat
import SAMQImage
@testable import SAMQRuntime

/// Full-size checks, opt-in because they need a large checkpoint and take seconds
/// in release (minutes in debug). Set `SAMQ_LARGE_FIXTURE` to a directory holding
/// `<variant>.safetensors` (or `.pth`), `input_tensor.npy` (1×3×1024×1024) and
/// `embedding.npy` from the official encoder; `SAMQ_LARGE_VARIANT` picks vit_b
/// (default), vit_l or vit_h. Then run in release:
/// `swift test -c release -Xswiftc -enable-testing --filter LargeModelTests`.
final class LargeModelTests: XCTestCase {
    func testLargeEncoderParityAndTiming() throws {
        guard let dir = ProcessInfo.processInfo.environment["SAMQ_LARGE_FIXTURE"] else {
            throw XCTSkip("set SAMQ_LARGE_FIXTURE to run the vit_b encoder check")
        }
        let variant = ProcessInfo.processInfo.environment["SAMQ_LARGE_VARIANT"] ?? "vit_b"
        guard let config = ModelConfig.official(variant) else { return XCTFail("no config \(variant)") }
        var start = Date()
        let checkpoint = ["safetensors", "pth"].map { "\(dir)/\(variant).\($0)" }
            .first { FileManager.default.fileExists(atPath: $0) } ?? "\(dir)/\(variant).safetensors"
        let weights = try CheckpointWeights(path: checkpoint, config: config)
        let encoder = try ImageEncoderViT(weights: weights)
        print(String(format: "[\(config.variant)] load %.2f s", Date().timeIntervalSince(start)))
        let input = try NumPyArray.read(path: dir + "/input_tensor.npy")
        let golden = try NumPyArray.read(path: dir + "/embedding.npy")
        if ProcessInfo.processInfo.environment["SAMQ_LARGE_DECODER_ONLY"] != nil {
            try decoderTiming(weights: weights, config: config, embedding: golden.values)
            return
        }
        start = Date()
        let cpuStart = Self.processCPUSeconds()
        let embedding = try encoder.encode(input.values)
        let seconds = Date().timeIntervalSince(start)
        let cpu = Self.processCPUSeconds() - cpuStart
        let error = relativeL2(embedding, golden.values)
        // CPU time is reported too: wall time is meaningless on a loaded machine.
        print(String(format: "[\(config.variant)] encode %.2f s wall, %.2f s CPU, %d threads, embedding rel L2 %.3e", seconds,
                     cpu, ComputeThreads.count, error))
        XCTAssertLessThanOrEqual(error, 1e-4)

        try decoderTiming(weights: weights, config: config, embedding: embedding)
    }

    private func decoderTiming(weights: WeightProvider, config: ModelConfig, embedding: [Float]) throws {
        let predictor = try SamPredictor(weights: weights)
        try predictor.setEmbedding(embedding, originalSize: ImageSize(width: 1024, height: 700))
        var start = Date()
        let prediction = try predictor.predict(points: [(500, 300)], labels: [1])
        print(String(format: "[\(config.variant)] predict (3 masks, incl. upscaling to 1024×700) %.3f s",
                     Date().timeIntervalSince(start)))
        XCTAssertEqual(prediction.maskCount, 3)
        // Prompt encoder + mask decoder alone (what PyTorch's 72 ms "core" measures).
        let g = config.embeddingSize
        let image = Tensor.transpose(embedding, rows: 256, cols: g * g)
        start = Date()
        let cpuStart = Self.processCPUSeconds()
        let runs = 20
        for _ in 0..<runs {
            let sparse = predictor.promptEncoder.sparseEmbeddings(points: [PromptPoint(x: 500, y: 300, label: 1)], box: nil)
            let dense = predictor.promptEncoder.denseEmbeddings(mask: nil)
            _ = try predictor.maskDecoder.predict(image: image, imagePE: predictor.promptEncoder.densePositionalEncoding,
                                              sparse: sparse, dense: dense, side: g, multimask: true)
        }
        print(String(format: "[\(config.variant)] prompt encoder + mask decoder %.1f ms wall, %.1f ms CPU",
                     Date().timeIntervalSince(start) * 1000 / Double(runs),
                     (Self.processCPUSeconds() - cpuStart) * 1000 / Double(runs)))
    }

    static func processCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
