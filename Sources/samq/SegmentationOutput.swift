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

    /// The files are independent, so they are built, encoded and written
    /// concurrently on the compute threads: the overlay (the longest job: a
    /// render and an RGB deflate) is task 0, so it starts first, and the masks
    /// share the other threads. Each file is still written atomically
    /// (temporary file, fsync, rename), and its bytes do not depend on the
    /// thread that made it. With one thread the jobs run one after another.
    /// Returns the file names and each mask's foreground area (counted while
    /// the mask is converted, on the thread that writes it).
    func write(points: [PointArgument], box: [Float]?) throws -> (masks: [String], areas: [Int], overlay: String) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CLIError("cannot create output directory '\(directory)': \(error)")
        }
        let maskFiles = (0..<prediction.maskCount).map { "mask_\($0).png" }
        let jobs = 1 + prediction.maskCount
        var failures = [(any Error)?](repeating: nil, count: jobs)
        var areas = [Int](repeating: 0, count: prediction.maskCount)
        failures.withUnsafeMutableBufferPointer { slots in
            areas.withUnsafeMutableBufferPointer { areaSlots in
                ThreadPool.shared.parallelFor(count: jobs) { task, _ in
                    do {
                        if task == 0 {
                            try writeOverlay(points: points, box: box, to: directory + "/overlay.png")
                        } else {
                            areaSlots[task - 1] = try writeMask(task - 1, to: directory + "/" + maskFiles[task - 1])
                        }
                    } catch {
                        slots[task] = error
                    }
                }
            }
        }
        // The error a serial run would have met first: masks in order, then the overlay.
        for task in Array(1..<jobs) + [0] {
            if let error = failures[task] { throw error }
        }
        return (maskFiles, areas, "overlay.png")
    }

    /// Mask `index` as a 0/255 gray PNG, converted in one pass from the
    /// prediction; returns its foreground area (its
    /// nonzero pixels, as `result.json` reports).
    private func writeMask(_ index: Int, to path: String) throws -> Int {
        let n = prediction.height * prediction.width
        var area = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: n) { out, initialized in
            prediction.masks.withUnsafeBufferPointer { masks in
                let plane = masks.baseAddress! + index * n
                for i in 0..<n {
                    let inside = plane[i] != 0
                    out[i] = inside ? 255 : 0
                    area += inside ? 1 : 0
                }
            }
            initialized = n
        }
        try GrayImage(width: prediction.width, height: prediction.height, pixels: pixels).writePNG(to: path)
        return area
    }

    /// The overlay shows the mask the model rates best, as SAM's demo does.
    private func writeOverlay(points: [PointArgument], box: [Float]?, to path: String) throws {
        var masks: [[Bool]] = []
        if prediction.maskCount > 0 {
            let n = prediction.height * prediction.width
            let plane = prediction.bestMaskIndex * n
            masks = [[Bool](unsafeUninitializedCapacity: n) { out, initialized in
                prediction.masks.withUnsafeBufferPointer { all in
                    for i in 0..<n { out[i] = all[plane + i] != 0 }
                }
                initialized = n
            }]
        }
        let overlay = try Overlay.render(
            on: image, masks: masks,
            points: points.map { OverlayPoint(x: Double($0.x), y: Double($0.y), label: $0.label) },
            boxes: box.map { [OverlayBox(x0: Double($0[0]), y0: Double($0[1]), x1: Double($0[2]), y1: Double($0[3]))] } ?? [])
        try overlay.writePNG(to: path)
    }
}

extension Prediction {
    /// The mask with the highest predicted IoU (the first of equals), 0 when there is none.
    var bestMaskIndex: Int {
        iouPredictions.indices.max { iouPredictions[$0] < iouPredictions[$1] } ?? 0
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
