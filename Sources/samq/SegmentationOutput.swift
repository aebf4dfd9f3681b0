#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQFormat
import SAMQImage
import SAMQRuntime

/// Writes a prediction as `mask_K.png` (0/255) and `overlay.png`, then `result.json`.
struct SegmentationOutput {
    let directory: String
    let image: RGBImage
    let prediction: Prediction

    /// Builds, encodes and writes the masks and the overlay in three
    /// concurrent steps: the images (the overlay render, the longest, is task
    /// 0, so it starts first; the masks are converted on the other threads),
    /// then every PNG band of every file on the compute threads
    /// (`PNGBandEncoder`), then the files, each written and flushed on a
    /// background thread of its own, since that mostly waits for the disk
    /// (its fsync). No file's bytes depend on the threads.
    ///
    /// Each file is written to a temporary file and flushed; none replaces
    /// its target until `finish` has written `result.json` the same way and
    /// publishes them all (`AtomicFile.publish`), so a failure such as a full
    /// disk leaves the directory as it was, never new masks beside an old
    /// `result.json`. Returns the file names, each mask's foreground area and
    /// the staged files for `finish`.
    func write(points: [PointArgument], box: [Float]?) throws
        -> (masks: [String], areas: [Int], overlay: String, staged: [AtomicFile]) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CLIError("cannot create output directory '\(directory)': \(error)")
        }
        let maskFiles = (0..<prediction.maskCount).map { "mask_\($0).png" }
        let names = ["overlay.png"] + maskFiles
        let files = names.count
        var failures = [(any Error)?](repeating: nil, count: files)
        var encoders = [PNGBandEncoder?](repeating: nil, count: files)
        var areas = [Int](repeating: 0, count: prediction.maskCount)
        failures.withUnsafeMutableBufferPointer { failed in
            encoders.withUnsafeMutableBufferPointer { made in
                areas.withUnsafeMutableBufferPointer { areaSlots in
                    ThreadPool.shared.parallelFor(count: files) { file, _ in
                        do {
                            if file == 0 {
                                made[0] = try PNGBandEncoder(renderOverlay(points: points, box: box))
                            } else {
                                let (mask, area) = try maskImage(file - 1)
                                areaSlots[file - 1] = area
                                made[file] = try PNGBandEncoder(mask)
                            }
                        } catch {
                            failed[file] = error
                        }
                    }
                }
            }
        }
        let bands = compressBands(encoders, failures: &failures)
        let stagings = (0..<files).map { file in
            BackgroundTask { [directory, encoders] () throws -> AtomicFile? in
                guard let encoder = encoders[file], let fileBands = bands[file] else { return nil }
                return try AtomicFile.staged(encoder.file(fileBands), for: directory + "/" + names[file])
            }
        }
        var staged: [AtomicFile] = []
        for file in 0..<files {
            do {
                if let done = try stagings[file].value() { staged.append(done) }
            } catch {
                failures[file] = failures[file] ?? error
            }
        }
        // The error a serial run would have met first: masks in order, then the overlay.
        // Throwing drops `staged`, whose temporary files are then removed.
        for file in Array(1..<files) + [0] {
            if let error = failures[file] { throw error }
        }
        return (maskFiles, areas, "overlay.png", staged)
    }

    /// Writes `result.json`, then replaces every target of `staged` and it
    /// together, and syncs the directory once.
    func finish(resultJSON json: String, staged: [AtomicFile]) throws {
        let result = try AtomicFile.staged(Array(json.utf8), for: directory + "/result.json")
        try AtomicFile.publish(staged + [result])
    }

    /// Every band of every encoder, compressed on the compute threads (one
    /// slot per band, so each task writes only its own); a file whose band
    /// fails is recorded in `failures` and gets nil.
    private func compressBands(_ encoders: [PNGBandEncoder?],
                               failures: inout [(any Error)?]) -> [[PNGBandEncoder.Band]?] {
        let counts = encoders.map { $0?.bandCount ?? 0 }
        let jobs = counts.indices.flatMap { file in (0..<counts[file]).map { (file, $0) } }
        var results = [Result<PNGBandEncoder.Band, ImageError>?](repeating: nil, count: jobs.count)
        results.withUnsafeMutableBufferPointer { slots in
            ThreadPool.shared.parallelFor(count: jobs.count) { job, _ in
                let (file, band) = jobs[job]
                slots[job] = Result { () throws(ImageError) in try encoders[file]!.band(band) }
            }
        }
        var start = 0
        return counts.indices.map { file in
            defer { start += counts[file] }
            var bands: [PNGBandEncoder.Band] = []
            for result in results[start..<(start + counts[file])] {
                switch result! {
                case let .success(band): bands.append(band)
                case let .failure(error): failures[file] = failures[file] ?? error
                }
            }
            return failures[file] == nil ? bands : nil
        }
    }

    /// Mask `index` as a 0/255 gray image, converted in one pass from the
    /// prediction, and its foreground area (its nonzero pixels, as
    /// `result.json` reports).
    private func maskImage(_ index: Int) throws -> (GrayImage, Int) {
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
        return (try GrayImage(width: prediction.width, height: prediction.height, pixels: pixels), area)
    }

    /// The overlay shows the mask the model rates best, as SAM's demo does.
    private func renderOverlay(points: [PointArgument], box: [Float]?) throws -> RGBImage {
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
        return try Overlay.render(
            on: image, masks: masks,
            points: points.map { OverlayPoint(x: Double($0.x), y: Double($0.y), label: $0.label) },
            boxes: box.map { [OverlayBox(x0: Double($0[0]), y0: Double($0[1]), x1: Double($0[2]), y1: Double($0[3]))] } ?? [])
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
