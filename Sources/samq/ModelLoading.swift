#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import SAMQFormat
import SAMQImage
import SAMQRuntime
import SAMQCLISupport

/// Shared steps of the compute commands: open the model, decode the image.
enum ModelLoading {
    /// Opens the model with the global options applied (threads, memory
    /// budget); on a terminal the encoder reports its progress.
    /// `decoderOnly` (segment --embedding): the encoder is built streamed,
    /// which reads none of its tensors, so only the prompt encoder and mask
    /// decoder are ever decoded.
    /// A streamed encoder fixes glibc's mmap threshold (`ProcessMemory`); a
    /// decoder-only process does not need it (its image-sized buffers are
    /// few and short-lived: 62.6 MB peak without, 61.9 MB with, vit_b) and
    /// keeps the adaptive heap, whose reuse makes each decode ~2× cheaper.
    static func predictor(path: String, global: GlobalOptions, decoderOnly: Bool = false) throws -> SamPredictor {
        let weights = try open(path: path, global: global)
        let residency = decoderOnly ? .streamed : try global.budget().residency(for: weights.file, withDecoder: true)
        if residency == .streamed && !decoderOnly { ProcessMemory.returnFreedBuffersToSystem() }
        let predictor = try SamPredictor(weights: weights, residency: residency)
        showProgress(of: predictor.imageEncoder, global: global)
        return predictor
    }

    /// The image encoder alone (`samq encode`): the decoder's weights are never read.
    static func encoder(path: String, global: GlobalOptions) throws -> any ImageEncoding {
        let weights = try open(path: path, global: global)
        let residency = try global.budget().residency(for: weights.file, withDecoder: false)
        // A one-shot encode has no later work to reuse heap pages for.
        ProcessMemory.returnFreedBuffersToSystem()
        let encoder = try ImageEncoderFactory.make(weights: weights, residency: residency)
        // Everything the encoder keeps is decoded into its own memory by now
        // (a streamed encoder maps each block again as it runs), so the
        // file's compressed pages would only sit in the RSS: ~10 MB of a
        // 47 MB vit_t encode. Clean file-backed pages are dropped, not lost.
        weights.file.map.release(0..<weights.file.fileSize)
        showProgress(of: encoder, global: global)
        return encoder
    }

    private static func open(path: String, global: GlobalOptions) throws -> SAMQFileWeights {
        if let threads = global.threads { ComputeThreads.count = threads }
        return try SAMQFileWeights(path: path)
    }

    private static func showProgress(of encoder: any ImageEncoding, global: GlobalOptions) {
        let progress = ProgressLine(enabled: !global.quiet)
        encoder.progress = { done, total in
            progress.update("encoding image: block \(done)/\(total)")
            if done == total { progress.finish() }
        }
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
