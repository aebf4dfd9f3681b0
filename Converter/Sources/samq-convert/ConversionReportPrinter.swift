import Foundation
import SAMQConverter
import SAMQFormat
import SAMQCLISupport

/// The human-readable conversion report.
struct ConversionReportPrinter {
    let report: Converter.Report
    let perTensor: Bool
    let outputPath: String

    func print() {
        let rows = report.tensors
        if perTensor {
            Swift.print(pad("tensor", 64) + pad("shape", 20) + pad("dtype", 6) + lpad("stored", 12) + lpad("SQNR dB", 9))
            for row in rows {
                Swift.print(pad(row.name, 64) + pad(row.shape.map(String.init).joined(separator: "x"), 20)
                            + pad(row.dtype.description, 6) + lpad(formatBytes(row.storedBytes), 12)
                            + lpad(row.sqnr.map(sqnrText) ?? "-", 9))
            }
        }
        var byType: [String: (count: Int, bytes: Int)] = [:]
        for row in rows { byType[row.dtype.description, default: (0, 0)].count += 1; byType[row.dtype.description]!.bytes += row.storedBytes }
        let summary = byType.keys.sorted().map { "\($0): \(byType[$0]!.count) tensors, \(formatBytes(byType[$0]!.bytes))" }
        Swift.print("model      \(report.config.variant) (\(report.config.imageEncoder.depth) blocks, dim \(report.config.imageEncoder.embedDim), image \(report.config.imageEncoder.imgSize))")
        Swift.print("tensors    \(rows.count) (\(summary.joined(separator: "; ")))")
        if let input = report.inputBytes {
            let ratio = Double(report.outputBytes) / Double(max(1, input))
            Swift.print("size       \(formatBytes(input)) → \(formatBytes(report.outputBytes)) (\(String(format: "%.1f", ratio * 100))% of the input)")
        } else {
            Swift.print("size       \(formatBytes(report.outputBytes))")
        }
        if let worst = report.worst, let sqnr = worst.sqnr {
            let mean = rows.compactMap(\.sqnr).filter(\.isFinite)
            let average = mean.isEmpty ? Double.infinity : mean.reduce(0, +) / Double(mean.count)
            Swift.print("int8 SQNR  worst \(sqnrText(sqnr)) dB (\(worst.name)), mean \(sqnrText(average)) dB")
        }
        Swift.print("time       \(String(format: "%.2f", report.seconds)) s")
        Swift.print("wrote      \(outputPath)")
    }

    func sqnrText(_ value: Double) -> String { value.isFinite ? String(format: "%.1f", value) : "exact" }
    func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }
    func lpad(_ s: String, _ width: Int) -> String { s.count >= width ? " " + s : String(repeating: " ", count: width - s.count) + s }
}
