import ArgumentParser
import SAMQFormat
import SAMQRuntime

/// `--memory-budget SIZE`: chooses resident or streamed encoder weights, or
/// refuses early when even streaming cannot fit.
struct MemoryBudget {
    let bytes: Int

    /// Parses `512MB`, `2G`, `1.5GB`, `300000000` (decimal units, like the sizes samq prints).
    init(parsing text: String, option: String = "--memory-budget") throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Double)] = [("GB", 1e9), ("G", 1e9), ("MB", 1e6), ("M", 1e6), ("KB", 1e3), ("K", 1e3), ("B", 1)]
        var number = trimmed, scale = 1.0
        for (suffix, value) in units where trimmed.hasSuffix(suffix) {
            number = String(trimmed.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
            scale = value
            break
        }
        guard let value = Double(number), value.isFinite, value > 0, value * scale < 1e18 else {
            throw ValidationError("\(option) '\(text)' is not a size like 512MB or 2GB")
        }
        bytes = Int(value * scale)
    }

    /// Estimated bytes of the f32 encoder: weights of every block (resident)
    /// or of the largest block (streamed), plus activations (tokens × the
    /// widest per-token buffers, which are the MLP hidden layer and qkv).
    static func estimate(_ file: SAMQFile) -> (resident: Int, streamed: Int) {
        let e = file.config.imageEncoder
        var blockBytes = [Int](repeating: 0, count: e.depth)
        var other = 0
        for entry in file.entries {
            let bytes = entry.elementCount * 4
            if let block = Self.blockIndex(entry.name), block < e.depth { blockBytes[block] += bytes } else { other += bytes }
        }
        let tokens = e.gridSize * e.gridSize
        let activations = tokens * (4 * e.embedDim + e.mlpDim + 3 * e.embedDim) * 4
        let base = other + activations + file.fileSize / 8
        return (base + blockBytes.reduce(0, +), base + 2 * (blockBytes.max() ?? 0))
    }

    static func blockIndex(_ name: String) -> Int? {
        let prefix = "image_encoder.blocks."
        guard name.hasPrefix(prefix) else { return nil }
        return Int(name.dropFirst(prefix.count).prefix { $0.isNumber })
    }

    func residency(for file: SAMQFile) throws -> ImageEncoderViT.WeightResidency {
        let need = Self.estimate(file)
        if bytes >= need.resident { return .resident }
        if bytes >= need.streamed { return .streamed }
        throw CLIError("this model needs about \(formatBytes(need.streamed)) even when streaming weights block by block; --memory-budget is \(formatBytes(bytes))")
    }
}

import Foundation
import SAMQCLISupport
