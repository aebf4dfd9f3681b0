#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQCLISupport

/// The readable form of `EvalReport`: aligned columns, one block per question
/// (are the embeddings close, do the masks agree, what does each cost).
extension EvalReport {
    func text() -> String {
        var lines: [String] = []
        lines.append("model      \(model) (\(variant))")
        lines.append("reference  \(reference) (\(referenceVariant))")
        lines.append("prompts    \(promptsPerImage) per image × \(images.count) image(s), seed \(seed), point / box / point+box in turn")
        lines.append("")

        let nameWidth = max(8, images.map(\.image.count).max() ?? 0)
        func row(_ cells: [String], first: Int = nameWidth) -> String {
            var line = leftAligned(cells[0], width: first)
            for cell in cells.dropFirst() { line += "  " + Self.leftPad(cell, 10) }
            return line
        }
        lines.append(row(["image", "cosine", "SQNR dB", "rel L2", "best IoU", "min IoU"]))
        for image in images {
            lines.append(row([image.image, Self.f(image.embedding.cosine, 6), Self.db(image.embedding.sqnrDb),
                              Self.e(image.embedding.relativeL2), Self.f(image.bestMaskIoU.mean, 4),
                              Self.f(image.bestMaskIoU.min, 4)]))
        }
        lines.append(row(["overall", Self.f(embedding.cosine, 6), Self.db(embedding.sqnrDb), Self.e(embedding.relativeL2),
                          Self.f(bestMaskIoU.mean, 4), Self.f(bestMaskIoU.min, 4)]))
        lines.append("")

        let labelWidth = 30
        lines.append(row(["mask IoU, model vs reference", "mean", "min", "p5", "n"], first: labelWidth))
        lines.append(row(["best mask (each one's pick)", Self.f(bestMaskIoU.mean, 4), Self.f(bestMaskIoU.min, 4),
                          Self.f(bestMaskIoU.p5, 4), "\(bestMaskIoU.count)"], first: labelWidth))
        lines.append(row(["mask by mask (all outputs)", Self.f(maskIoU.mean, 4), Self.f(maskIoU.min, 4),
                          Self.f(maskIoU.p5, 4), "\(maskIoU.count)"], first: labelWidth))
        for kind in byKind {
            lines.append(row(["  best mask, \(kind.kind.rawValue)", Self.f(kind.bestMaskIoU.mean, 4),
                              Self.f(kind.bestMaskIoU.min, 4), Self.f(kind.bestMaskIoU.p5, 4),
                              "\(kind.bestMaskIoU.count)"], first: labelWidth))
        }
        lines.append("")
        let mismatched = Int((bestIndexMismatch * Double(bestMaskIoU.count)).rounded())
        lines.append("IoU prediction error   mean \(Self.f(iouPredictionError.mean, 4)), max \(Self.f(iouPredictionError.max, 4))")
        lines.append("best-mask choice       differs on \(mismatched) of \(bestMaskIoU.count) prompts (\(fixed(100 * bestIndexMismatch, 1))%)")
        lines.append("")
        lines.append(row(["time (median ms)", "encoder", "decoder"], first: labelWidth))
        lines.append(row(["model", fixed(timingsMs.model.encoderMedian, 1),
                          fixed(timingsMs.model.decoderMedian, 2)], first: labelWidth))
        lines.append(row(["reference", fixed(timingsMs.reference.encoderMedian, 1),
                          fixed(timingsMs.reference.decoderMedian, 2)], first: labelWidth))
        if let referenceEmbedding {
            let c = referenceEmbedding.comparison
            lines.append("")
            lines.append("model embedding vs \(referenceEmbedding.file): cosine \(Self.f(c.cosine, 6)), SQNR \(Self.db(c.sqnrDb)) dB, relative L2 \(Self.e(c.relativeL2))")
        }
        if let referenceLogits {
            let c = referenceLogits.comparison
            lines.append("model low-res logits vs \(referenceLogits.file) (\(referenceLogits.masks) mask(s)): relative L2 \(Self.e(c.relativeL2)), cosine \(Self.f(c.cosine, 6))")
        }
        return lines.joined(separator: "\n")
    }

    static func leftPad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
    static func f(_ x: Double, _ digits: Int) -> String { fixed(x, digits) }
    static func e(_ x: Double) -> String { scientific(x, 2) }
    static func db(_ x: Double?) -> String { x.map { fixed($0, 1) } ?? "inf" }
}
