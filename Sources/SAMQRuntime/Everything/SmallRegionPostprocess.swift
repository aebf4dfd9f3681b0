/// `SamAutomaticMaskGenerator.postprocess_small_regions`: fill small holes, drop
/// small islands, then NMS with unchanged masks preferred (score 1) over changed
/// ones (score 0). Kept changed masks take their cleaned RLE and box.
///
/// Masks are decoded one at a time; only the RLEs of changed masks are kept.
enum SmallRegionPostprocess {
    static func apply(to masks: [GeneratedMask], minimumArea: Int,
                      iouThreshold: Float) throws(EverythingError) -> [GeneratedMask] {
        guard !masks.isEmpty else { return masks }
        var cleaned = [(rle: MaskRLE, box: MaskBox)?]()
        var boxes = [MaskBox]()
        var scores = [Float]()
        for mask in masks {
            let height = mask.segmentation.height, width = mask.segmentation.width
            let area = Double(minimumArea)
            let holes = try SmallRegionRemoval.apply(mask.segmentation.decode(), width: width, height: height,
                                                 minimumArea: area, mode: .holes)
            let islands = try SmallRegionRemoval.apply(holes.mask, width: width, height: height,
                                                   minimumArea: area, mode: .islands)
            let changed = holes.changed || islands.changed
            let box = islands.mask.withUnsafeBufferPointer { MaskBox(mask: $0, width: width, height: height) }
            boxes.append(box)
            scores.append(changed ? 0 : 1)
            cleaned.append(changed ? (MaskRLE(validMask: islands.mask, height: height, width: width), box) : nil)
        }
        let keep = BoxNMS.keep(boxes: boxes, scores: scores, iouThreshold: iouThreshold)
        return keep.map { index in
            var mask = masks[index]
            if let update = cleaned[index] {
                mask.segmentation = update.rle
                mask.box = update.box
            }
            return mask
        }
    }
}
