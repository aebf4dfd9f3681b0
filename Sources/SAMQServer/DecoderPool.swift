import SAMQImage
import SAMQRuntime

/// Predictors that serve decoder requests concurrently, one request each at a
/// time. `SamPredictor` holds one image and caches per-image decoder work, so a
/// request prefers a predictor already holding its image; otherwise it loads
/// the cached embedding into the least recently used idle one (`setEmbedding`:
/// a transpose and a check of the embedding, no encoder run).
actor DecoderPool {
    final class Slot: @unchecked Sendable {
        let predictor: SamPredictor
        /// The image whose embedding `predictor` holds; touched only by the request holding the slot.
        var image: ImageID?
        init(predictor: SamPredictor) { self.predictor = predictor }
    }

    private var idle: [Slot]
    private var waiters: [CheckedContinuation<Slot, Never>] = []
    let size: Int

    init(predictors: [SamPredictor]) {
        idle = predictors.map(Slot.init)
        size = predictors.count
    }

    /// An idle slot, preferring one that holds `image`; waits (first come, first
    /// served) when all are busy.
    func checkOut(preferring image: ImageID) async -> Slot {
        if let index = idle.firstIndex(where: { $0.image == image }) { return idle.remove(at: index) }
        if !idle.isEmpty { return idle.removeFirst() }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func checkIn(_ slot: Slot) {
        if !waiters.isEmpty {
            waiters.removeFirst().resume(returning: slot)
        } else {
            idle.append(slot)
        }
    }
}
