import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQCLISupport
import SAMQFormat
import SAMQRuntime

/// How the encoder's weights are held, chosen from a memory budget.
///
/// `--memory-budget SIZE`: resident if that fits, else streamed block by
/// block, else refuse before loading anything. Without the flag the budget
/// is what the machine offers (`MemoryLimit`: cgroup limit or RAM), and
/// resident weights are only chosen when they take at most a quarter of it:
/// a server keeps the fast mode for repeated encodes, a small board (or a
/// tight container) streams without being told.
struct MemoryBudget {
    let bytes: Int
    /// Whether the user gave the budget (else it was detected).
    var explicit = true
    var source = "--memory-budget"

    /// Fixed costs outside the encoder: libraries (~20 MB of mapped code),
    /// runtime heap, image and output buffers. Calibrated so the estimate is
    /// at or above the measured peaks of `samq encode` (vit_b, vit_h).
    static let processBaseBytes = 36_000_000

    /// Parses `512MB`, `2G`, `1.5GB`, `300000000` (decimal units, like the sizes samq prints).
    init(parsing text: String, option: String = "--memory-budget") throws {
        let trimmed = text.trimmingWhitespace().uppercased()
        let units: [(String, Double)] = [("GB", 1e9), ("G", 1e9), ("MB", 1e6), ("M", 1e6), ("KB", 1e3), ("K", 1e3), ("B", 1)]
        var number = trimmed, scale = 1.0
        for (suffix, value) in units where trimmed.hasSuffix(suffix) {
            number = String(trimmed.dropLast(suffix.count)).trimmingWhitespace()
            scale = value
            break
        }
        guard let value = Double(number), value.isFinite, value > 0, value * scale < 1e18 else {
            throw ValidationError("\(option) '\(text)' is not a size like 512MB or 2GB")
        }
        bytes = Int(value * scale)
    }

    /// The machine's limit, used when no flag is given.
    static func detected() -> MemoryBudget {
        let limit = MemoryLimit.detect()
        var budget = MemoryBudget(bytes: limit.bytes)
        budget.explicit = false
        budget.source = limit.source
        return budget
    }

    private init(bytes: Int) { self.bytes = bytes }

    /// Bytes the process needs besides the encoder: when the decoder is
    /// loaded, its weights (as f32) and as much again for its per-image
    /// caches, positional encodings and outputs.
    static func otherBytes(_ file: SAMQFile, withDecoder: Bool) -> Int {
        guard withDecoder else { return processBaseBytes }
        let decoder = file.entries.filter { !$0.name.hasPrefix("image_encoder.") }.reduce(0) { $0 + 4 * $1.elementCount }
        return processBaseBytes + 2 * decoder
    }

    func residency(for file: SAMQFile, withDecoder: Bool) throws -> ImageEncoderViT.WeightResidency {
        let precision = try EncoderPrecision.automatic(for: SAMQFileWeights(file: file))
        let estimate = EncoderMemoryEstimate(file: file, precision: precision, threads: ComputeThreads.count)
        let other = Self.otherBytes(file, withDecoder: withDecoder)
        let resident = estimate.resident + other, streamed = estimate.streamed + other
        if explicit ? resident <= bytes : resident <= bytes / 4 { return .resident }
        // A detected limit only steers the choice: the estimate carries a
        // margin, and the kernel, not a guess, should have the last word.
        if streamed <= bytes || !explicit { return .streamed }
        let how = file.config.imageEncoder.isTinyViT
            ? "(TinyViT keeps its few weights resident)" : "even when streaming its encoder block by block"
        throw CLIError("this model needs about \(formatBytes(streamed)) \(how), but --memory-budget is \(formatBytes(bytes))")
    }
}
