#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQFormat
import SAMQImage
import SAMQRuntime

/// Writes a prediction as `mask_K.png` (0/255) and `overlay.png`.
struct SegmentationOutput {
    let directory: String
    let image: RGBImage
    let prediction: Prediction

    func write(points: [PointArgument], box: [Float]?) throws -> (masks: [String], overlay: String) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CLIError("cannot create output directory '\(directory)': \(error)")
        }
        var maskFiles: [String] = []
        var boolMasks: [[Bool]] = []
        for index in 0..<prediction.maskCount {
            let plane = prediction.mask(index)
            let file = "mask_\(index).png"
            try GrayImage(width: prediction.width, height: prediction.height, pixels: plane.map { $0 == 0 ? 0 : 255 })
                .writePNG(to: directory + "/" + file)
            maskFiles.append(file)
            boolMasks.append(plane.map { $0 != 0 })
        }
        // The overlay shows the mask the model rates best, as SAM's demo does.
        let best = prediction.iouPredictions.indices.max { prediction.iouPredictions[$0] < prediction.iouPredictions[$1] } ?? 0
        let overlay = try Overlay.render(
            on: image, masks: boolMasks.isEmpty ? [] : [boolMasks[best]],
            points: points.map { OverlayPoint(x: Double($0.x), y: Double($0.y), label: $0.label) },
            boxes: box.map { [OverlayBox(x0: Double($0[0]), y0: Double($0[1]), x1: Double($0[2]), y1: Double($0[3]))] } ?? [])
        try overlay.writePNG(to: directory + "/overlay.png")
        return (maskFiles, "overlay.png")
    }
}

extension Prediction {
    /// Foreground pixels of mask `index`.
    func area(of index: Int) -> Int {
        let n = height * width
        var count = 0
        for i in (index * n)..<((index + 1) * n) where masks[i] != 0 { count += 1 }
        return count
    }
}

/// `result.json`: what `segment` did, for scripts.
struct SegmentationResult: Encodable {
    struct Point: Encodable { var x: Float; var y: Float; var label: Int }
    struct Mask: Encodable { var file: String; var iouPrediction: Float; var area: Int }
    struct Timings: Encodable { var load: Double; var encode: Double; var embeddingLoad: Double; var decode: Double; var total: Double }
    var model: String
    var variant: String
    var image: String
    var width: Int
    var height: Int
    var points: [Point]
    var box: [Float]?
    var maskInput: String?
    var embedding: String?
    var masks: [Mask]
    var best: Int
    var overlay: String
    var logits: String?
    var timingsMs: Timings

    func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
