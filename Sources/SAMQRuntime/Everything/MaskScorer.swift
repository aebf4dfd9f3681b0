/// The per-mask steps of `_process_batch`, in the official order: predicted-IoU
/// filter, stability score on the upscaled logits, binarize, box, crop-edge
/// filter, RLE. Only masks that pass the IoU filter are upscaled; the upscaled
/// logits and the bitmap live only inside this call.
struct MaskScorer: Sendable {
    let options: AutomaticMaskGeneratorOptions
    let maskThreshold: Float
    let crop: CropBox
    let imageWidth: Int
    let imageHeight: Int
    let upscaler: MaskUpscaler

    func masks(from decoded: (lowRes: [Float], iou: [Float], count: Int), point: GridPoint) -> [GeneratedMask] {
        let plane = decoded.count == 0 ? 0 : decoded.lowRes.count / decoded.count
        var out = [GeneratedMask]()
        for m in 0..<decoded.count {
            let iou = decoded.iou[m]
            if options.predIoUThresh > 0 && !(iou > options.predIoUThresh) { continue }
            let logits = decoded.lowRes.withUnsafeBufferPointer {
                upscaler.upscale(UnsafeBufferPointer(rebasing: $0[(m * plane)..<((m + 1) * plane)]))
            }
            let stability = StabilityScore.compute(logits: logits, threshold: maskThreshold,
                                                   offset: options.stabilityScoreOffset)
            if options.stabilityScoreThresh > 0 && !(stability >= options.stabilityScoreThresh) { continue }
            // NaN (0/0) means no pixel clears even threshold − offset: the mask
            // is empty. The official generator keeps it when the filter is off
            // and writes NaN into its JSON, which JSON cannot hold; SAMQ drops it.
            if stability.isNaN { continue }
            let bitmap = logits.map { $0 > maskThreshold }
            // The box decides the edge filter, so the RLE is built only for masks that pass it.
            let encoded: (box: MaskBox, rle: MaskRLE)? = bitmap.withUnsafeBufferPointer { pixels in
                let box = MaskBox(mask: pixels, width: crop.width, height: crop.height).offset(by: crop)
                guard !box.isNearCropEdge(crop, imageWidth: imageWidth, imageHeight: imageHeight) else { return nil }
                return (box, MaskRLE(cropMask: pixels, cropWidth: crop.width, cropHeight: crop.height, placedAt: crop,
                                     imageWidth: imageWidth, imageHeight: imageHeight))
            }
            guard let encoded else { continue }
            out.append(GeneratedMask(segmentation: encoded.rle, box: encoded.box, predictedIoU: iou,
                                     stabilityScore: stability,
                                     point: GridPoint(x: point.x + Double(crop.x0), y: point.y + Double(crop.y0)),
                                     cropBox: crop))
        }
        return out
    }
}
