import Foundation
import SAMQFormat
import SAMQImage
import SAMQRuntime
import SAMQCLISupport

/// Shared steps of the compute commands: open the model, decode the image.
enum ModelLoading {
    /// Opens the model with the global options applied (threads, memory
    /// budget); on a terminal the encoder reports its progress.
    static func predictor(path: String, global: GlobalOptions) throws -> SamPredictor {
        if let threads = global.threads { ComputeThreads.count = threads }
        let weights = try SAMQFileWeights(path: path)
        let residency = try global.memoryBudget.map { try MemoryBudget(parsing: $0).residency(for: weights.file) } ?? .resident
        let predictor = try SamPredictor(weights: weights, residency: residency)
        let progress = ProgressLine(enabled: !global.quiet)
        predictor.imageEncoder.progress = { done, total in
            progress.update("encoding image: block \(done)/\(total)")
            if done == total { progress.finish() }
        }
        return predictor
    }

    /// The image encoder alone, for commands that never decode masks
    /// (`encode`): the mask decoder's weights are not loaded at all.
    static func encoder(path: String, global: GlobalOptions) throws -> any ImageEncoding {
        if let threads = global.threads { ComputeThreads.count = threads }
        let weights = try SAMQFileWeights(path: path)
        let residency = try global.memoryBudget.map { try MemoryBudget(parsing: $0).residency(for: weights.file) } ?? .resident
        let encoder = try ImageEncoderFactory.make(weights: weights, residency: residency)
        let progress = ProgressLine(enabled: !global.quiet)
        encoder.progress = { done, total in
            progress.update("encoding image: block \(done)/\(total)")
            if done == total { progress.finish() }
        }
        return encoder
    }

    /// Decodes the image, naming the file in any error.
    static func image(path: String, maxPixels: Int) throws -> RGBImage {
        do {
            return try RGBImage(contentsOf: path, maxPixels: maxPixels)
        } catch let error as ImageError {
            if case .cannotRead = error { throw error }
            throw CLIError("cannot read image '\(path)': \(error)")
        }
    }

    /// Milliseconds since `start`.
    static func milliseconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
    }
}

/// A message for the user, printed as `Error: …` with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
