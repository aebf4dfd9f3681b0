/// Greedy box non-maximum suppression, as `torchvision.ops.batched_nms` with a
/// single category (what the official generator always passes), i.e. `nms`.
/// Internal: callers pass one score per box (checked as an invariant).
enum BoxNMS {
    /// Indices of the kept boxes, in decreasing score order.
    ///
    /// Like torchvision's CPU kernel: a *stable* descending sort by score (ties
    /// keep input order), then each box suppresses later boxes whose IoU with it
    /// is `> iouThreshold`. Areas and IoUs are float32, with `(x1 - x0) * (y1 - y0)`
    /// areas on the inclusive-max mask boxes, so a one-pixel-wide box has area 0
    /// and its IoU is NaN, which never suppresses.
    static func keep(boxes: [MaskBox], scores: [Float], iouThreshold: Float) -> [Int] {
        precondition(boxes.count == scores.count, "internal: one score per box")
        // Stable descending: sort by (score desc, index asc). NaN scores last.
        let order = boxes.indices.sorted { a, b in
            let sa = scores[a], sb = scores[b]
            if sa.isNaN != sb.isNaN { return sb.isNaN }
            if sa != sb && !sa.isNaN { return sa > sb }
            return a < b
        }
        var suppressed = [Bool](repeating: false, count: boxes.count)
        var kept = [Int]()
        for (rank, i) in order.enumerated() where !suppressed[i] {
            kept.append(i)
            let box = boxes[i]
            let area = box.nmsArea
            for j in order[(rank + 1)...] where !suppressed[j] {
                let other = boxes[j]
                let width = max(Float(0), Float(min(box.x1, other.x1)) - Float(max(box.x0, other.x0)))
                let height = max(Float(0), Float(min(box.y1, other.y1)) - Float(max(box.y0, other.y0)))
                let intersection = width * height
                let iou = intersection / (area + other.nmsArea - intersection)
                if iou > iouThreshold { suppressed[j] = true }
            }
        }
        return kept
    }
}
