import XCTest
import Foundation
import SAMQConverter
import SAMQFormat
@testable import SAMQRuntime

/// The product path: official checkpoint → `samq-convert --dtype f32` → `.samq`
/// → `SAMQFileWeights` → runtime, against the official outputs.
final class SAMQFileParityTests: XCTestCase {
    func testF32SamqFileMatchesOfficial() throws {
        guard let f = Fixtures.shared else { throw FixtureError("fixtures manifest not found") }
        let name = "tiny_a"
        guard let pth = f.weightsPath(name) else { throw FixtureError("\(name).pth not found") }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("samq-runtime-tests-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("\(name)_f32.samq").path

        var options = ConversionOptions()
        options.weights = .f32
        var converter = Converter(options: options)
        converter.configOverride = try f.modelConfig(name)   // window size is not recoverable from shapes alone
        let source = try CheckpointLoader.open(path: pth)
        _ = try converter.convert(try ConversionInput(checkpoint: source, converterVersion: Converter.version,
                                                      hashSource: false), to: output)

        let weights = try SAMQFileWeights(path: output)
        let predictor = try SamPredictor(weights: weights)
        let files = f.entry(name)["files"] as? [String: Any] ?? [:]
        let input = try f.npy(files["input_tensor"] as? String ?? "")
        let golden = try f.npy(files["embedding"] as? String ?? "")
        let sizes = f.sizes(name)
        try predictor.setImageTensor(input.values, originalSize: sizes.original, inputSize: sizes.input)
        let embeddingError = relativeL2(try predictor.imageEmbedding(), golden.values)
        XCTAssertLessThanOrEqual(embeddingError, 1e-4)
        var worst = 0.0
        for c in f.cases(name) where c["mask_input"] as? String == nil {
            let caseFiles = c["files"] as? [String: Any] ?? [:]
            let points = (c["points"] as? [[Double]] ?? []).map { (x: Float($0[0]), y: Float($0[1])) }
            let prediction = try predictor.predict(points: points, labels: c["labels"] as? [Int] ?? [],
                                                   box: (c["box"] as? [Double])?.map { Float($0) },
                                                   multimask: c["multimask"] as? Bool ?? true)
            let logits = try f.npy(caseFiles["low_res_logits"] as? String ?? "")
            let e = relativeL2(prediction.lowResLogits, logits.values)
            worst = max(worst, e)
            XCTAssertLessThanOrEqual(e, 1e-4, "case \(c["index"] ?? "?")")
        }
        print(String(format: "[parity] %@ via f32 .samq: embedding rel L2 %.3e, logits max rel L2 %.3e",
                     name, embeddingError, worst))
    }
}
