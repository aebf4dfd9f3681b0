import Foundation
import XCTest
import SAMQConverter
import SAMQFormat
import SAMQImage
@testable import SAMQRuntime

/// `SamPredictor` builds its image encoder and its decoder concurrently from
/// a `.samq` file: the networks must be the same as built one after another,
/// and a bad file must report the error a serial build meets first.
final class PredictorConstructionTests: XCTestCase {
    private static func config() -> ModelConfig {
        .tinySAM(imgSize: 64, embedDim: 16, depth: 2, mlpDim: 32, windowSize: 2, globalAttnIndexes: [1])
    }

    private func convert(_ name: String, weights: ConversionOptions.WeightType) throws -> String {
        var options = ConversionOptions()
        options.weights = weights
        return try RandomSAMFile.convert(config: Self.config(), seed: 11, options: options, name: "construction-\(name)")
    }

    func testConcurrentBuildPredictsExactlyLikeASerialBuild() throws {
        let path = try convert("int8", weights: .int8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let weights = try SAMQFileWeights(path: path)
        XCTAssertTrue(weights.allowsConcurrentReads)
        var pixels = [UInt8](repeating: 0, count: 48 * 40 * 3)
        for i in pixels.indices { pixels[i] = UInt8((i * 37 + i / 7) % 251) }
        let image = try RGBImage(width: 48, height: 40, pixels: pixels)
        var results: [(embedding: [Float], masks: [UInt8], iou: [Float])] = []
        for concurrently in [true, false] {
            let predictor = try SamPredictor(weights: weights, residency: .resident, concurrently: concurrently)
            try predictor.setImage(image)
            let prediction = try predictor.predict(points: [(x: 20, y: 15)], labels: [1])
            results.append((try predictor.imageEmbedding(), prediction.masks, prediction.iouPredictions))
        }
        XCTAssertEqual(results[0].embedding, results[1].embedding)
        XCTAssertEqual(results[0].masks, results[1].masks)
        XCTAssertEqual(results[0].iou, results[1].iou)
    }

    func testAnEncoderErrorComesBeforeADecoderError() throws {
        let path = try convert("f32", weights: .f32)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try SAMQFileWeights(path: path)
        let encoderTensor = "image_encoder.neck.0.weight", decoderTensor = "mask_decoder.iou_token.weight"
        XCTAssertNotNil(file.shape(encoderTensor))
        XCTAssertNotNil(file.shape(decoderTensor))
        for concurrently in [true, false] {
            let weights = HidingWeights(base: file, hidden: [encoderTensor, decoderTensor])
            XCTAssertThrowsError(try SamPredictor(weights: weights, residency: .resident, concurrently: concurrently)) { error in
                XCTAssertTrue("\(error)".contains(encoderTensor), "\(error)")
            }
            let decoderOnly = HidingWeights(base: file, hidden: [decoderTensor])
            XCTAssertThrowsError(try SamPredictor(weights: decoderOnly, residency: .resident, concurrently: concurrently)) { error in
                XCTAssertTrue("\(error)".contains(decoderTensor), "\(error)")
            }
        }
    }
}

/// A file's tensors with some names missing; as safe to read concurrently as the file.
private final class HidingWeights: WeightProvider {
    let base: SAMQFileWeights
    let hidden: Set<String>
    init(base: SAMQFileWeights, hidden: Set<String>) { self.base = base; self.hidden = hidden }
    var config: ModelConfig { base.config }
    var allowsConcurrentReads: Bool { true }
    func shape(_ name: String) -> [Int]? { hidden.contains(name) ? nil : base.shape(name) }
    func floats(_ name: String) throws -> [Float] {
        if hidden.contains(name) { throw SAMRuntimeError.missingWeight(name: name) }
        return try base.floats(name)
    }
    func halfPrecisionBits(_ name: String) throws -> [UInt16]? {
        if hidden.contains(name) { throw SAMRuntimeError.missingWeight(name: name) }
        return try base.halfPrecisionBits(name)
    }
}
