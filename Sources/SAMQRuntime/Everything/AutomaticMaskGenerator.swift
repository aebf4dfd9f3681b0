import Dispatch
import SAMQImage

/// "Segment everything": SAM prompted with a grid of points, the masks filtered
/// and deduplicated exactly as the official `SamAutomaticMaskGenerator`.
///
/// Per crop (the whole image, then the crop layers): the encoder runs once on
/// the crop; every grid point is decoded (multimask: 3 masks), masks are kept if
/// predicted IoU `> predIoUThresh` and stability `>= stabilityScoreThresh`,
/// binarized, dropped if their box touches a crop edge that is not an image edge,
/// RLE-encoded, and box-NMSed within the crop. Then masks of different crops are
/// NMSed preferring smaller crops, and, when `minMaskRegionArea > 0`, small holes
/// and islands are removed and the masks NMSed again.
///
/// `generate` sets images on the predictor (one encoder run per crop), so one
/// generator (and its predictor) serves one image at a time. Points of a batch
/// are decoded concurrently on `ComputeThreads.count` workers.
public final class AutomaticMaskGenerator {
    public let predictor: SamPredictor
    public let options: AutomaticMaskGeneratorOptions

    public init(predictor: SamPredictor, options: AutomaticMaskGeneratorOptions = .init()) throws(EverythingError) {
        try options.validate()
        self.predictor = predictor
        self.options = options
    }

    /// Generates the masks of `image`, in the official output order.
    /// `progress` is called after every batch of points, on the calling thread.
    ///
    /// `imageEmbedding`, if given, is this predictor's embedding of the whole
    /// `image` (`imageEmbedding()` after `setImage(image)`): the full-image crop
    /// then skips its encode, which on a small board is most of the time of a
    /// one-crop run. The result is identical, since encoding is deterministic.
    public func generate(_ image: RGBImage, imageEmbedding: [Float]? = nil,
                         progress: ((EverythingProgress) -> Void)? = nil) throws(EverythingError) -> EverythingResult {
        let start = DispatchTime.now()
        var timings = EverythingTimings()
        let crops = CropBox.generate(width: image.width, height: image.height, layers: options.cropNLayers,
                                     overlapRatio: options.cropOverlapRatio)
        let grids = options.resolvedPointGrids
        var masks = [GeneratedMask]()
        for (index, crop) in crops.enumerated() {
            let isWholeImage = crop.x0 == 0 && crop.y0 == 0 && crop.x1 == image.width && crop.y1 == image.height
            masks += try process(crop: crop, of: image, embedding: isWholeImage ? imageEmbedding : nil,
                                 grid: grids[crop.layer], timings: &timings) { batch, count in
                progress?(EverythingProgress(crop: index + 1, cropCount: crops.count, batch: batch, batchCount: count))
            }
        }

        let filterStart = DispatchTime.now()
        if crops.count > 1 {
            // Prefer masks from smaller crops: score 1 / crop area (float32, as torch).
            let keep = BoxNMS.keep(boxes: masks.map(\.box), scores: masks.map { 1 / Float($0.cropBox.area) },
                                   iouThreshold: options.cropNMSThresh)
            masks = keep.map { masks[$0] }
        }
        if options.minMaskRegionArea > 0 {
            masks = try SmallRegionPostprocess.apply(to: masks, minimumArea: options.minMaskRegionArea,
                                                 iouThreshold: max(options.boxNMSThresh, options.cropNMSThresh))
        }
        timings.filtering += seconds(since: filterStart)
        timings.total = seconds(since: start)
        predictor.resetImage()
        return EverythingResult(masks: masks, timings: timings)
    }

    /// `_process_crop`: encode the crop, decode the grid in batches, NMS within the crop.
    private func process(crop: CropBox, of image: RGBImage, embedding: [Float]?, grid: [GridPoint],
                         timings: inout EverythingTimings,
                         batchDone: (Int, Int) -> Void) throws(EverythingError) -> [GeneratedMask] {
        let encodeStart = DispatchTime.now()
        let decoder: GridPointDecoder
        do {
            if let embedding {
                try predictor.setEmbedding(embedding, originalSize: ImageSize(width: crop.width, height: crop.height))
            } else {
                try predictor.setImage(try image.cropped(to: crop))
            }
            decoder = try GridPointDecoder(predictor: predictor, cropSize: ImageSize(width: crop.width, height: crop.height))
        } catch {
            throw .prediction("crop \(crop.xywh): \(error)")
        }
        timings.encoder += seconds(since: encodeStart)

        // Grid scaled to the crop in float64 (points_scale = [w, h]).
        let points = grid.map { GridPoint(x: $0.x * Double(crop.width), y: $0.y * Double(crop.height)) }
        let config = predictor.config
        let upscaler = MaskUpscaler(lowResSize: config.lowResMaskSize, paddedSize: config.imageEncoder.imgSize,
                                    resizedSize: decoder.inputSize, originalSize: decoder.cropSize)
        let scorer = MaskScorer(options: options, maskThreshold: config.maskThreshold, crop: crop,
                                imageWidth: image.width, imageHeight: image.height, upscaler: upscaler)
        let batchCount = (points.count + options.pointsPerBatch - 1) / options.pointsPerBatch
        var masks = [GeneratedMask]()
        for batch in 0..<batchCount {
            let range = (batch * options.pointsPerBatch)..<min(points.count, (batch + 1) * options.pointsPerBatch)
            masks += try decodeBatch(Array(points[range]), decoder: decoder, scorer: scorer, timings: &timings)
            batchDone(batch + 1, batchCount)
        }

        // Crop-local NMS by predicted IoU; boxes are already in image pixels,
        // which shifts every box equally and so changes no IoU.
        let filterStart = DispatchTime.now()
        let keep = BoxNMS.keep(boxes: masks.map(\.box), scores: masks.map(\.predictedIoU),
                               iouThreshold: options.boxNMSThresh)
        timings.filtering += seconds(since: filterStart)
        return keep.map { masks[$0] }
    }

    /// `_process_batch` for a batch of points, decoded concurrently. Results are
    /// collected per point, so the output order (point, then mask index) does
    /// not depend on scheduling.
    private func decodeBatch(_ points: [GridPoint], decoder: GridPointDecoder, scorer: MaskScorer,
                             timings: inout EverythingTimings) throws(EverythingError) -> [GeneratedMask] {
        let batchStart = DispatchTime.now()
        let slots = ResultSlots<PointOutcome>(count: points.count)
        Parallel.forEach(tasks: points.count) { index, _ in
            let decodeStart = DispatchTime.now()
            let decoded: (lowRes: [Float], iou: [Float], count: Int)
            do {
                decoded = try decoder.decode(point: points[index])
            } catch {
                slots[index] = PointOutcome(masks: [], decodeSeconds: 0, scoreSeconds: 0, failure: "\(error)")
                return
            }
            let decodeSeconds = seconds(since: decodeStart)
            let scoreStart = DispatchTime.now()
            let masks = scorer.masks(from: decoded, point: points[index])
            slots[index] = PointOutcome(masks: masks, decodeSeconds: decodeSeconds,
                                        scoreSeconds: seconds(since: scoreStart))
        }
        let wall = seconds(since: batchStart)
        var masks = [GeneratedMask]()
        var decodeSum = 0.0, scoreSum = 0.0
        for index in points.indices {
            guard let outcome = slots[index] else { throw .prediction("internal: point \(index) was not decoded") }
            if let failure = outcome.failure { throw .prediction("decoding point \(index): \(failure)") }
            masks += outcome.masks
            decodeSum += outcome.decodeSeconds
            scoreSum += outcome.scoreSeconds
        }
        // Points overlap in time: split the batch's wall time by the busy-time shares.
        let busy = decodeSum + scoreSum
        let decodeShare = busy > 0 ? decodeSum / busy : 0
        timings.decoder += wall * decodeShare
        timings.maskScoring += wall * (1 - decodeShare)
        return masks
    }
}

/// What one point produced, and how long each part took.
private struct PointOutcome {
    var masks: [GeneratedMask]
    var decodeSeconds: Double
    var scoreSeconds: Double
    var failure: String? = nil
}

private func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}
